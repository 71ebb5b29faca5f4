package apiguard

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/constant"
	"go/format"
	"go/token"
	"go/types"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Stub returns Go source that declares the exported API of pkg: its
// exported constants, variables, functions and types, each type with its
// exported methods, and the unexported types that the exported ones
// reach (a function that returns one, a struct that embeds one). The
// source type-checks as a package of pkg's name, given pkg's imports,
// and golang.org/x/exp/apidiff finds no change between it and pkg.
//
// Functions and methods have no bodies, except generic ones, which
// panic. What apidiff does not read is
// left out: unexported functions and variables, field tags, and the
// types of unexported struct fields, which are replaced by one blank
// field whose type keeps the struct comparable or not as it was
// (struct{} or [0]func()). An unexported interface method is kept,
// without its signature, and so is an unexported method of the same
// name on any declared type, so that the types that implemented the
// interface still do. header is written above the package clause; each
// of its lines must be a // comment.
func Stub(pkg *types.Package, header string) ([]byte, error) {
	s := &stubber{
		pkg:      pkg,
		imports:  map[string]string{},
		pkgNames: map[string]string{},
		used:     map[string]bool{},
		typeDecl: map[string]string{},
		needed:   map[string]bool{},
		hidden:   map[string]bool{},
	}
	scope := pkg.Scope()
	var consts, vars, funcs []string
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch obj := obj.(type) {
		case *types.Const:
			consts = append(consts, s.constSpec(obj))
		case *types.Var:
			vars = append(vars, name+" "+s.typeString(obj.Type()))
		case *types.Func:
			sig := obj.Type().(*types.Signature)
			funcs = append(funcs, name+s.signature(sig, true)+body(sig))
		case *types.TypeName:
			s.need(obj)
		}
	}
	// Declaring a type may need more of them: the queue grows as it goes.
	for len(s.queue) > 0 {
		tn := s.queue[0]
		s.queue = s.queue[1:]
		s.typeDecl[tn.Name()] = s.typeDeclaration(tn)
	}
	// Now that every interface is known, keep the unexported methods
	// that implement their unexported methods.
	for name := range s.typeDecl {
		tn := scope.Lookup(name).(*types.TypeName)
		named, ok := tn.Type().(*types.Named)
		if !ok || types.IsInterface(named) {
			continue
		}
		var extra []string
		for m := range named.Methods() {
			if !m.Exported() && s.hidden[m.Name()] {
				extra = append(extra, s.receiver(m)+m.Name()+"()"+body(m.Type().(*types.Signature)))
			}
		}
		slices.Sort(extra)
		if len(extra) > 0 {
			s.typeDecl[name] += "\n" + strings.Join(extra, "\n")
		}
	}

	var b bytes.Buffer
	b.WriteString(header)
	fmt.Fprintf(&b, "package %s\n\n", pkg.Name())
	if len(s.imports) > 0 {
		b.WriteString("import (\n")
		for _, path := range slices.Sorted(maps.Keys(s.imports)) {
			if name := s.imports[path]; name == s.pkgNames[path] {
				fmt.Fprintf(&b, "%q\n", path)
			} else {
				fmt.Fprintf(&b, "%s %q\n", name, path)
			}
		}
		b.WriteString(")\n\n")
	}
	block := func(keyword string, decls []string) {
		if len(decls) > 0 {
			fmt.Fprintf(&b, "%s (\n%s\n)\n\n", keyword, strings.Join(decls, "\n"))
		}
	}
	block("const", consts)
	block("var", vars)
	for _, f := range funcs {
		b.WriteString("func " + f + "\n")
	}
	// Exported types first, then the unexported ones they reach.
	for _, exported := range []bool{true, false} {
		for _, name := range slices.Sorted(maps.Keys(s.typeDecl)) {
			if ast.IsExported(name) == exported {
				b.WriteString("\n" + s.typeDecl[name] + "\n")
			}
		}
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the API of %s: %v\n%s", pkg.Path(), err, b.Bytes())
	}
	return src, nil
}

type stubber struct {
	pkg      *types.Package
	imports  map[string]string // import path to the name the stub gives it
	pkgNames map[string]string // import path to the package's own name
	used     map[string]bool   // names given to imports
	typeDecl map[string]string // type name to its declaration and methods
	needed   map[string]bool   // type names queued or declared
	queue    []*types.TypeName // types to declare
	hidden   map[string]bool   // unexported interface methods
}

// need queues the declaration of a type of the package.
func (s *stubber) need(tn *types.TypeName) {
	if !s.needed[tn.Name()] {
		s.needed[tn.Name()] = true
		s.queue = append(s.queue, tn)
	}
}

// qualify returns the name by which the stub refers to package p,
// importing it under a name free of clashes.
func (s *stubber) qualify(p *types.Package) string {
	if name, ok := s.imports[p.Path()]; ok {
		return name
	}
	name := p.Name()
	for i := 2; s.used[name] || s.pkg.Scope().Lookup(name) != nil || name == s.pkg.Name(); i++ {
		name = p.Name() + strconv.Itoa(i)
	}
	s.imports[p.Path()] = name
	s.pkgNames[p.Path()] = p.Name()
	s.used[name] = true
	return name
}

// constSpec returns "Name Type = value", or "Name = value" if untyped.
func (s *stubber) constSpec(c *types.Const) string {
	val := c.Val()
	var lit string
	switch val.Kind() {
	case constant.Float:
		lit = floatLiteral(val)
	case constant.Int:
		lit = val.ExactString()
		if b, ok := c.Type().(*types.Basic); ok && b.Kind() == types.UntypedRune {
			if r, ok := constant.Int64Val(val); ok {
				lit = strconv.QuoteRune(rune(r))
			}
		}
	default:
		lit = val.ExactString()
	}
	if b, ok := c.Type().(*types.Basic); ok && b.Info()&types.IsUntyped != 0 {
		return c.Name() + " = " + lit
	}
	return c.Name() + " " + s.typeString(c.Type()) + " = " + lit
}

// floatLiteral returns a literal of the exact value of a float
// constant: 0.5, or (1.0 / 3) when no decimal literal is exact.
func floatLiteral(val constant.Value) string {
	f, _ := constant.Float64Val(val)
	lit := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(lit, ".eIN") {
		lit += ".0"
	}
	if constant.Compare(constant.MakeFromLiteral(lit, token.FLOAT, 0), token.EQL, val) {
		return lit
	}
	if n, d := constant.Num(val), constant.Denom(val); n.Kind() == constant.Int {
		return "(" + n.ExactString() + ".0 / " + d.ExactString() + ")"
	}
	return val.String()
}

func (s *stubber) typeDeclaration(tn *types.TypeName) string {
	switch t := tn.Type().(type) {
	case *types.Alias:
		return "type " + tn.Name() + s.typeParams(t.TypeParams()) + " = " + s.typeString(t.Rhs())
	case *types.Named:
		decl := "type " + tn.Name() + s.typeParams(t.TypeParams()) + " " + s.typeString(t.Underlying())
		var methods []string
		for m := range t.Methods() {
			if m.Exported() {
				sig := m.Type().(*types.Signature)
				methods = append(methods, s.receiver(m)+m.Name()+s.signature(sig, false)+body(sig))
			}
		}
		slices.Sort(methods)
		if len(methods) > 0 {
			decl += "\n" + strings.Join(methods, "\n")
		}
		return decl
	default:
		panic(fmt.Sprintf("type name %s of %T", tn.Name(), t))
	}
}

// body returns the body a generic function or method needs to
// type-check, and "" for the others.
func body(sig *types.Signature) string {
	if sig.TypeParams().Len() > 0 || sig.RecvTypeParams().Len() > 0 {
		return ` { panic("API only") }`
	}
	return ""
}

// receiver returns "func (T) " or "func (*T[A, B]) " for method m.
func (s *stubber) receiver(m *types.Func) string {
	sig := m.Type().(*types.Signature)
	t := sig.Recv().Type()
	star := ""
	if p, ok := t.(*types.Pointer); ok {
		star, t = "*", p.Elem()
	}
	name := t.(*types.Named).Obj().Name()
	if tps := sig.RecvTypeParams(); tps.Len() > 0 {
		var names []string
		for tp := range tps.TypeParams() {
			names = append(names, tp.Obj().Name())
		}
		name += "[" + strings.Join(names, ", ") + "]"
	}
	return "func (" + star + name + ") "
}

func (s *stubber) typeParams(tps *types.TypeParamList) string {
	if tps.Len() == 0 {
		return ""
	}
	var list []string
	for tp := range tps.TypeParams() {
		list = append(list, tp.Obj().Name()+" "+s.typeString(tp.Constraint()))
	}
	return "[" + strings.Join(list, ", ") + "]"
}

// signature returns a signature without the word func: "[T any](x T) error".
func (s *stubber) signature(sig *types.Signature, withTypeParams bool) string {
	out := ""
	if withTypeParams {
		out = s.typeParams(sig.TypeParams())
	}
	out += "(" + s.tuple(sig.Params(), sig.Variadic()) + ")"
	switch res := sig.Results(); {
	case res.Len() == 1 && res.At(0).Name() == "":
		out += " " + s.typeString(res.At(0).Type())
	case res.Len() > 0:
		out += " (" + s.tuple(res, false) + ")"
	}
	return out
}

func (s *stubber) tuple(t *types.Tuple, variadic bool) string {
	var list []string
	for i := range t.Len() {
		v := t.At(i)
		typ := s.typeString(v.Type())
		if variadic && i == t.Len()-1 {
			typ = "..." + s.typeString(v.Type().(*types.Slice).Elem())
		}
		if v.Name() != "" {
			typ = v.Name() + " " + typ
		}
		list = append(list, typ)
	}
	return strings.Join(list, ", ")
}

func (s *stubber) typeArgs(list *types.TypeList) string {
	if list.Len() == 0 {
		return ""
	}
	var args []string
	for t := range list.Types() {
		args = append(args, s.typeString(t))
	}
	return "[" + strings.Join(args, ", ") + "]"
}

// typeName returns the name by which the stub refers to a named type or
// alias, queuing its declaration when it belongs to the package.
func (s *stubber) typeName(tn *types.TypeName) string {
	switch p := tn.Pkg(); {
	case p == nil:
		return tn.Name()
	case p == s.pkg:
		s.need(tn)
		return tn.Name()
	default:
		return s.qualify(p) + "." + tn.Name()
	}
}

func (s *stubber) typeString(t types.Type) string {
	switch t := t.(type) {
	case *types.Basic:
		return t.Name()
	case *types.Alias:
		return s.typeName(t.Obj()) + s.typeArgs(t.TypeArgs())
	case *types.Named:
		return s.typeName(t.Obj()) + s.typeArgs(t.TypeArgs())
	case *types.TypeParam:
		return t.Obj().Name()
	case *types.Pointer:
		return "*" + s.typeString(t.Elem())
	case *types.Slice:
		return "[]" + s.typeString(t.Elem())
	case *types.Array:
		return "[" + strconv.FormatInt(t.Len(), 10) + "]" + s.typeString(t.Elem())
	case *types.Map:
		return "map[" + s.typeString(t.Key()) + "]" + s.typeString(t.Elem())
	case *types.Chan:
		elem := s.typeString(t.Elem())
		switch t.Dir() {
		case types.SendOnly:
			return "chan<- " + elem
		case types.RecvOnly:
			return "<-chan " + elem
		}
		if c, ok := t.Elem().(*types.Chan); ok && c.Dir() == types.RecvOnly {
			elem = "(" + elem + ")"
		}
		return "chan " + elem
	case *types.Signature:
		return "func" + s.signature(t, false)
	case *types.Struct:
		return s.structType(t)
	case *types.Interface:
		return s.interfaceType(t)
	case *types.Union:
		var terms []string
		for term := range t.Terms() {
			ts := s.typeString(term.Type())
			if term.Tilde() {
				ts = "~" + ts
			}
			terms = append(terms, ts)
		}
		return strings.Join(terms, " | ")
	default:
		panic(fmt.Sprintf("type %s of %T", t, t))
	}
}

func (s *stubber) structType(t *types.Struct) string {
	var fields []string
	hidden, comparable := false, true
	for f := range t.Fields() {
		switch {
		case f.Embedded():
			fields = append(fields, s.typeString(f.Type()))
		case f.Exported():
			fields = append(fields, f.Name()+" "+s.typeString(f.Type()))
		default:
			hidden = true
			comparable = comparable && types.Comparable(f.Type())
		}
	}
	if hidden {
		if comparable {
			fields = append(fields, "_ struct{} // unexported fields")
		} else {
			fields = append(fields, "_ [0]func() // unexported fields; not comparable")
		}
	}
	if len(fields) == 0 {
		return "struct{}"
	}
	return "struct {\n" + strings.Join(fields, "\n") + "\n}"
}

func (s *stubber) interfaceType(t *types.Interface) string {
	if t.IsImplicit() {
		return s.typeString(t.EmbeddedType(0))
	}
	var lines []string
	for e := range t.EmbeddedTypes() {
		lines = append(lines, s.typeString(e))
	}
	for m := range t.ExplicitMethods() {
		if m.Exported() {
			lines = append(lines, m.Name()+s.signature(m.Type().(*types.Signature), false))
		} else {
			s.hidden[m.Name()] = true
			lines = append(lines, m.Name()+"()")
		}
	}
	if len(lines) == 0 {
		return "interface{}"
	}
	return "interface {\n" + strings.Join(lines, "\n") + "\n}"
}
