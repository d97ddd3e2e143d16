// Command cgo is built with -buildmode=c-shared into libgoloss.so, the C
// library declared by include/goloss.h; its functions live in package capi.
package main

import _ "github.com/gofocal/gofocal/cgo/capi"

func main() {}
