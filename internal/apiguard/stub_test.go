package apiguard

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/exp/apidiff"
)

// fixture is a package with the constructs Stub must render: generics,
// an unexported embedded struct whose fields and methods are promoted,
// an interface with an unexported method and a type implementing it,
// an alias, typed and untyped constants, channels, variadics, and a
// function returning an unexported type.
const fixture = `package fixture

import (
	"context"
	"time"
)

type State int

const (
	Active State = 3
	Week = 7 * 24 * time.Hour
	Ratio = 1.0 / 3
	Half float64 = 0.5
	Sep = ';'
	Name = "fixture"
)

var ErrGone = context.Canceled

type Service struct {
	*base
	Name string
	mu   chan int
	now  func() time.Time
}

type base struct {
	Created time.Time
	n       int
}

func (b *base) Count() int { return b.n }

func (s *Service) AddUser(ctx context.Context, name string) (int, error) { return 0, nil }
func (s *Service) Watch(done <-chan struct{}) chan<- State         { return nil }
func (s *Service) Tags(first string, rest ...string) []string      { return nil }
func (s *Service) lookup(string) int                               { return 0 }

type Key struct {
	Org string
	id  int
}

type Page[T any] struct {
	Items []T
	Next  string
	seen  map[string]bool
}

func (p Page[T]) Len() int { return len(p.Items) }

func Map[T, U any](p Page[T], f func(T) U) Page[U] { return Page[U]{} }

type Number interface {
	~int | ~int64 | float64
}

func Sum[N Number](ns ...N) N { var z N; return z }

type Store interface {
	Get(ctx context.Context, k Key) (string, error)
	sealed()
}

type Clock interface {
	Now() time.Time
}

type memStore struct{}

func (memStore) Get(context.Context, Key) (string, error) { return "", nil }
func (memStore) sealed()                                   {}

type Mem = memStore

func NewStore() Store { return memStore{} }

func Open() *handle { return nil }

type handle struct{ ch chan chan<- int }

func (h *handle) Close() error { return nil }
`

// TestStubFixture checks that the baseline Stub writes for the fixture
// is identical to it for apidiff, and that comparing edited fixtures with
// that baseline reports what the guard must catch, naming the thing
// changed, and lets compatible changes pass.
func TestStubFixture(t *testing.T) {
	m := loadModule(t)
	const pkgPath = "example.com/fixture"
	live, err := check(pkgPath, "fixture.go", []byte(fixture), m.current())
	if err != nil {
		t.Fatal(err)
	}
	src, err := Stub(live, header(pkgPath))
	if err != nil {
		t.Fatal(err)
	}
	old, err := check(pkgPath, "fixture.txt", src, m.current())
	if err != nil {
		t.Fatalf("the stub does not type-check: %v\n%s", err, src)
	}
	for _, r := range []apidiff.Report{apidiff.Changes(old, live), apidiff.Changes(live, old)} {
		if len(r.Changes) > 0 {
			t.Fatalf("the stub differs from the fixture:\n%s\nstub:\n%s", r, src)
		}
	}

	tests := []struct {
		reason       string
		old, new     string // a replacement in the fixture's source
		incompatible []string
		compatible   []string
	}{{
		reason:       "a parameter added to a method",
		old:          "AddUser(ctx context.Context, name string)",
		new:          "AddUser(ctx context.Context, name string, admin bool)",
		incompatible: []string{"(*Service).AddUser: changed from func(context.Context, string) (int, error) to func(context.Context, string, bool) (int, error)"},
	}, {
		reason:       "a return type changed",
		old:          "func NewStore() Store",
		new:          "func NewStore() memStore",
		incompatible: []string{"NewStore: changed from func() Store to func() memStore"},
	}, {
		reason:     "a function added",
		old:        "func Open()",
		new:        "func Extra() {}\n\nfunc Open()",
		compatible: []string{"Extra: added"},
	}, {
		reason:       "a method added to an interface",
		old:          "\tNow() time.Time\n",
		new:          "\tNow() time.Time\n\tSince(t time.Time) time.Duration\n",
		incompatible: []string{"Clock.Since: added"},
	}, {
		reason:     "a method added to an interface that only the package can implement",
		old:        "\tsealed()\n}",
		new:        "\tsealed()\n\tPut(k Key, v string) error\n}\n\nfunc (memStore) Put(Key, string) error { return nil }",
		compatible: []string{"Store.Put: added", "memStore.Put: added"},
	}, {
		reason:       "a promoted field removed from an unexported embedded struct",
		old:          "\tCreated time.Time\n",
		new:          "",
		incompatible: []string{"Service.Created: removed"},
	}, {
		reason:       "an unexported field makes a comparable struct incomparable",
		old:          "\tid  int\n",
		new:          "\tid  []int\n",
		incompatible: []string{"Key: old is comparable, new is not"},
	}, {
		reason:     "an unexported field changes and the struct stays comparable",
		old:        "\tid  int\n",
		new:        "\tid  string\n",
		compatible: nil,
	}, {
		reason:       "a constant's value changed",
		old:          "Active State = 3",
		new:          "Active State = 4",
		incompatible: []string{"Active: value changed from 3 to 4"},
	}, {
		reason:       "a method removed from an unexported type that an exported function returns",
		old:          "func (h *handle) Close() error { return nil }",
		new:          "",
		incompatible: []string{"(*handle).Close: removed"},
	}, {
		reason:       "a type parameter's constraint narrowed",
		old:          "func Sum[N Number]",
		new:          "func Sum[N ~int]",
		incompatible: []string{"Sum: changed from"},
	}}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			edited := strings.Replace(fixture, tt.old, tt.new, 1)
			if edited == fixture {
				t.Fatalf("%q is not in the fixture", tt.old)
			}
			now, err := check(pkgPath, "fixture.go", []byte(edited), m.current())
			if err != nil {
				t.Fatal(err)
			}
			var incompatible, compatible []string
			for _, c := range apidiff.Changes(old, now).Changes {
				if c.Compatible {
					compatible = append(compatible, c.Message)
				} else {
					incompatible = append(incompatible, c.Message)
				}
			}
			for _, want := range tt.incompatible {
				if !slices.ContainsFunc(incompatible, func(got string) bool { return strings.HasPrefix(got, want) }) {
					t.Errorf("incompatible changes = %q, want one starting %q", incompatible, want)
				}
			}
			if len(tt.incompatible) == 0 && len(incompatible) > 0 {
				t.Errorf("incompatible changes = %q, want none", incompatible)
			}
			if !slices.Equal(compatible, tt.compatible) {
				t.Errorf("compatible changes = %q, want %q", compatible, tt.compatible)
			}
		})
	}
}
