// Package apiguard keeps the exported API of the module's packages
// compatible between releases.
//
// Its test loads every package of the module except internal ones,
// examples and commands (github.com/claimkit/claim, claimhttp,
// claimtest, postgres, storetest today), compares the exported API of
// each with the baseline committed under api/ at the repository's root,
// using golang.org/x/exp/apidiff, and fails on an incompatible change
// (a removed name, a changed signature, a method added to an
// interface...), printing apidiff's report. Compatible changes, such as
// a new function, pass and are logged with -v. It runs in the module's
// ordinary go test ./....
//
// A baseline is Go source, one file per package (api/claim.txt for the
// root package, api/claimhttp.txt and so on), written by [Stub]: the
// exported declarations without bodies, and the unexported types they
// reach. It holds no file names or positions, so it is the same on every
// machine, and a change to it reads as a change to the API. The test
// type-checks it to compare it with the current package.
//
// At a release, after the deliberate breaks are made and recorded in
// CHANGELOG.md, refresh the baseline from a clean tree with
//
//	go test ./internal/apiguard -update
//
// and commit api/. It rewrites every baseline file, removes those of
// packages that are gone, and refuses to write a baseline that apidiff
// does not find identical to the package it describes.
package apiguard
