module github.com/claimkit/claim

go 1.26.0

require (
	github.com/google/btree v1.1.3
	golang.org/x/net v0.62.0
)

require (
	github.com/google/go-cmp v0.7.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	pgregory.net/rapid v1.3.0 // indirect
)
