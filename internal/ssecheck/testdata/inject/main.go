// Command inject is input for ssecheck's inject_test.go: three AVX2 loops in
// assembly (inject_amd64.s) that the test builds and disassembles. They are
// never executed by the test; main calls them only when asked to, so that the
// linker keeps them.
package main

import (
	"fmt"
	"os"
)

// sseLeak has a legacy-SSE MOVQ CX, X5 inside its AVX2 loop: the site
// ssecheck must find (kind sse, at the movq).
func sseLeak(p *[8]float32, n int)

// vexClean is sseLeak with VMOVQ instead of MOVQ: no site.
func vexClean(p *[8]float32, n int)

// noVzeroupper is vexClean without its VZEROUPPER: a ret site.
func noVzeroupper(p *[8]float32, n int)

func main() {
	if len(os.Args) != 2 || os.Args[1] != "run-avx2" {
		fmt.Println("inject: test input for internal/ssecheck; run with run-avx2 on an AVX2 machine to execute the loops")
		return
	}
	var v [8]float32
	for i := range v {
		v[i] = 1
	}
	sseLeak(&v, 4)
	vexClean(&v, 4)
	noVzeroupper(&v, 4)
	fmt.Println(v)
}
