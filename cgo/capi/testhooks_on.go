//go:build goloss_testhooks

package capi

import (
	"os"
	"strconv"
	"sync/atomic"
)

// With the goloss_testhooks build tag (tests only; never the shipped
// library), the next GOLOSS_TEST_PANICS calls (the environment variable's
// value when the library loads) panic inside the core, so that tests at
// every layer can show that a panic reaches the caller as an error and that
// the next call works:
//
//	go build -tags goloss_testhooks -buildmode=c-shared -o libgoloss.so ./cgo
var testPanics atomic.Int64

func init() {
	if n, err := strconv.Atoi(os.Getenv("GOLOSS_TEST_PANICS")); err == nil && n > 0 {
		testPanics.Store(int64(n))
	}
}

// testHookPanic panics while provoked panics are left.
func testHookPanic() {
	if testPanics.Load() > 0 && testPanics.Add(-1) >= 0 {
		panic("a panic provoked by GOLOSS_TEST_PANICS")
	}
}
