package ssecheck

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// objdump turns a compact listing into `objdump -d --no-show-raw-insn -w`
// output: a line "  401000: mov %rax,%rbx" becomes "  401000:\tmov    %rax,%rbx"
// (objdump separates address and instruction with a tab and pads the
// mnemonic), other lines are kept as they are.
func objdump(listing string) string {
	insn := regexp.MustCompile(`^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$`)
	var b strings.Builder
	b.WriteString("\nprog:     file format elf64-x86-64\n\n\nDisassembly of section .text:\n\n")
	for _, l := range strings.Split(strings.Trim(listing, "\n"), "\n") {
		l = strings.TrimLeft(l, "\t")
		if m := insn.FindStringSubmatch(l); m != nil && !strings.HasSuffix(l, ">:") {
			if m[3] == "" {
				fmt.Fprintf(&b, "  %s:\t%s\n", m[1], m[2])
			} else {
				fmt.Fprintf(&b, "  %s:\t%-6s %s\n", m[1], m[2], m[3])
			}
			continue
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// want is a compact expected site: kind@addr, with the dirtying address when
// it matters.
type want struct {
	Kind      string
	Addr      uint64
	DirtiedAt uint64 // 0: not checked
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		listing string
		want    []want
	}{
		{
			name: "straight-line clean",
			listing: `
0000000000401000 <main.clean>:
  401000: vmovups (%rax),%ymm0
  401004: vaddps %ymm0,%ymm1,%ymm1
  401008: vmovups %ymm1,(%rax)
  40100c: vzeroupper
  40100f: movq %rcx,%xmm5
  401014: xorps %xmm0,%xmm0
  401017: cvtsi2sd %rax,%xmm1
  40101c: call 402000 <runtime.foo>
  401021: ret
`,
		},
		{
			name: "dirty then SSE",
			listing: `
0000000000401000 <main.dirty>:
  401000: vaddps %ymm0,%ymm1,%ymm1
  401004: mov %rcx,%rdx
  401007: movq %rcx,%xmm5
  40100c: pxor %xmm1,%xmm1
  401010: ucomisd %xmm0,%xmm1
  401014: vzeroupper
  401017: ret
`,
			want: []want{{"sse", 0x401007, 0x401000}, {"sse", 0x40100c, 0x401000}, {"sse", 0x401010, 0x401000}},
		},
		{
			name: "vzeroupper in between",
			listing: `
0000000000401000 <main.between>:
  401000: vaddps %ymm0,%ymm1,%ymm1
  401004: vzeroupper
  401007: movq %rcx,%xmm5
  40100c: vaddps %zmm0,%zmm1,%zmm1
  401012: vzeroall
  401015: movsd %xmm0,(%rax)
  401019: ret
`,
		},
		{
			name: "loop: SSE before the ymm write, reached through the back edge",
			listing: `
0000000000401000 <main.loop>:
  401000: vxorps %xmm1,%xmm1,%xmm1
  401004: movq %rcx,%xmm5
  401009: vaddps %ymm0,%ymm1,%ymm1
  40100d: dec %rcx
  401010: jne 401004 <main.loop+0x4>
  401012: vzeroupper
  401015: ret
`,
			want: []want{{"sse", 0x401004, 0x401009}},
		},
		{
			name: "branch where only one path cleans",
			listing: `
0000000000401000 <main.branch>:
  401000: vaddps %ymm0,%ymm1,%ymm1
  401004: test %rax,%rax
  401007: je 401010 <main.branch+0x10>
  401009: vzeroupper
  40100c: nopl 0x0(%rax)
  401010: movsd %xmm0,(%rdi)
  401014: vzeroupper
  401017: ret
`,
			want: []want{{"sse", 0x401010, 0x401000}},
		},
		{
			name: "both paths clean",
			listing: `
0000000000401000 <main.bothclean>:
  401000: vaddps %ymm0,%ymm1,%ymm1
  401004: test %rax,%rax
  401007: je 40100e <main.bothclean+0xe>
  401009: vzeroupper
  40100c: jmp 401011 <main.bothclean+0x11>
  40100e: vzeroupper
  401011: movsd %xmm0,(%rdi)
  401015: ret
`,
		},
		{
			name: "ret, call and tail call dirty",
			listing: `
0000000000401000 <main.ret>:
  401000: vmovdqu %ymm0,(%rdi)
  401004: ret

0000000000401010 <main.call>:
  401010: vmovdqu %ymm0,(%rdi)
  401014: call 401000 <main.ret>
  401019: call *%rax
  40101b: vzeroupper
  40101e: ret

0000000000401020 <main.tail>:
  401020: vmovdqu %ymm0,(%rdi)
  401024: test %rax,%rax
  401027: jne 401010 <main.call>
  401029: jmp 402000 <free@plt>
`,
			want: []want{
				{"ret", 0x401004, 0x401000},
				{"call", 0x401014, 0x401010}, {"call", 0x401019, 0x401010},
				{"tailcall", 0x401027, 0x401020}, {"tailcall", 0x401029, 0x401020},
			},
		},
		{
			name: "k registers do not dirty",
			listing: `
0000000000401000 <main.kmask>:
  401000: kmovw %k1,%eax
  401004: kxnorw %k0,%k0,%k2
  401008: vmovdqu32 (%rax),%xmm0{%k1}{z}
  40100e: vpcmpeqd %xmm1,%xmm0,%k3
  401014: movq %rcx,%xmm5
  401019: ret
`,
		},
		{
			name: "xmm-only VEX code does not dirty",
			listing: `
0000000000401000 <main.vexxmm>:
  401000: vmovq %rcx,%xmm5
  401005: vaddps %xmm0,%xmm1,%xmm1
  401009: vfmadd231sd %xmm2,%xmm3,%xmm4
  40100e: vpxord %xmm16,%xmm17,%xmm18
  401014: vcvtsi2sd %rax,%xmm1,%xmm1
  401019: movsd %xmm1,(%rdi)
  40101d: call 402000 <runtime.foo>
  401022: ret
`,
		},
		{
			name: "every ymm and zmm operand form dirties",
			listing: `
0000000000401000 <main.forms>:
  401000: vextracti128 $0x1,%ymm0,%xmm1
  401006: movd %xmm1,%eax
  40100a: vzeroupper
  40100d: vpbroadcastd %xmm0,%zmm31{%k1}
  401013: addsd %xmm0,%xmm1
  401017: vzeroupper
  40101a: vmovmskps %ymm2,%eax
  40101e: repz ret
`,
			want: []want{{"sse", 0x401006, 0x401000}, {"sse", 0x401013, 0x40100d}, {"ret", 0x40101e, 0x40101a}},
		},
		{
			name: "SSE without xmm register operand",
			listing: `
0000000000401000 <main.noxmm>:
  401000: vaddps %ymm0,%ymm1,%ymm1
  401004: cvttsd2si 0x8(%rsp),%rax
  40100a: ldmxcsr 0x8(%rsp)
  40100f: stmxcsr 0x8(%rsp)
  401014: sfence
  401017: movnti %rax,(%rdi)
  40101b: prefetcht0 (%rdi)
  40101e: movq %mm0,%rax
  401022: vzeroupper
  401025: ret
`,
			want: []want{{"sse", 0x401004, 0x401000}},
		},
		{
			name: "dirty at entry through a jump back to the entry",
			listing: `
0000000000401000 <main.selfloop>:
  401000: movsd %xmm0,(%rdi)
  401004: vaddpd %ymm0,%ymm1,%ymm1
  401008: dec %rcx
  40100b: jg 401000 <main.selfloop>
  40100d: vzeroupper
  401010: ret
`,
			want: []want{{"sse", 0x401000, 0x401004}},
		},
		{
			name: "noreturn call does not fall through into the morestack epilogue",
			listing: `
0000000000401000 <main.gofunc>:
  401000: cmp 0x10(%r14),%rsp
  401004: jbe 401030 <main.gofunc+0x30>
  40100a: xorps %xmm0,%xmm0
  40100d: vmovdqu (%rax),%ymm0
  401011: cmp $0x8,%rbx
  401015: jae 40102b <main.gofunc+0x2b>
  401017: vmovdqu %ymm0,(%rdi)
  40101b: vzeroupper
  40101e: ret
  40101f: nop
  40102b: call 409000 <runtime.panicBounds>
  401030: call 409100 <runtime.morestack_noctxt.abi0>
  401035: jmp 401000 <main.gofunc>
  40103a: int3
  40103b: int3
`,
			want: []want{{"call", 0x40102b, 0x40100d}},
		},
		{
			name: "indirect jmp: reported when dirty, may reach any instruction",
			listing: `
0000000000401000 <main.jumptable>:
  401000: lea 0x1000(%rip),%rdx        # 402007 <main.table>
  401007: jmp *(%rdx,%rcx,8)
  40100a: xorps %xmm0,%xmm0
  40100d: ret
  40100e: vmovdqu %ymm0,(%rdi)
  401012: vzeroupper
  401015: ret

0000000000401020 <main.dirtyjump>:
  401020: vmovdqu %ymm0,(%rdi)
  401024: jmp *%rax
  401026: vzeroupper
  401029: movq %rax,%xmm0
  40102e: ret
`,
			want: []want{
				// main.jumptable: the table dispatch is clean, the ymm code
				// cleans before returning: nothing.
				{"indirect", 0x401024, 0x401020},
				// After the dirty indirect jmp any instruction may be a
				// target, even one right after a vzeroupper.
				{"sse", 0x401029, 0x401020},
				{"ret", 0x40102e, 0x401020},
			},
		},
		{
			name: "jump to the middle of an instruction cannot be followed",
			listing: `
0000000000401000 <main.middle>:
  401000: vmovdqu %ymm0,(%rdi)
  401004: jne 401007 <main.middle+0x7>
  401006: vzeroupper
  401009: ret
`,
			want: []want{{"tailcall", 0x401004, 0x401000}},
		},
		{
			name: "gcc output: prefixes, comments, cold parts, padding",
			listing: `
0000000000001100 <kernel>:
  1100: endbr64
  1104: vmovupd (%rdi),%ymm0
  1108: lea 0x2ef1(%rip),%rax        # 4000 <xmm_table>
  110f: test %esi,%esi
  1111: je 1130 <kernel.cold>
  1117: vmovupd %ymm0,(%rdx)
  111b: vzeroupper
  111e: ret
  111f: data16 cs nopw 0x0(%rax,%rax,1)
  112a: nopw 0x0(%rax,%rax,1)

0000000000001130 <kernel.cold>:
  1130: call 1030 <abort@plt>
`,
			want: []want{{"tailcall", 0x1111, 0x1104}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			funcs, err := Parse(strings.NewReader(objdump(tt.listing)))
			require.NoError(t, err)
			sites := Check(funcs)
			got := make([]want, len(sites))
			for i, s := range sites {
				got[i] = want{s.Kind, s.Addr, 0}
				for _, w := range tt.want {
					if w.Addr == s.Addr && w.DirtiedAt != 0 {
						got[i].DirtiedAt = s.DirtiedAt
					}
				}
			}
			if !assert.Equal(t, fmtWants(tt.want), fmtWants(got)) {
				for _, s := range sites {
					t.Log(s)
				}
			}
		})
	}
}

func fmtWants(ws []want) []string {
	out := []string{}
	for _, w := range ws {
		s := fmt.Sprintf("%s@%#x", w.Kind, w.Addr)
		if w.DirtiedAt != 0 {
			s += fmt.Sprintf(" dirtied@%#x", w.DirtiedAt)
		}
		out = append(out, s)
	}
	return out
}

func TestParse(t *testing.T) {
	text := "\n" +
		"prog:     file format elf64-x86-64\n" +
		"\n\nDisassembly of section .plt:\n\n" +
		"0000000000401000 <__errno_location@plt-0x10>:\n" +
		"  401000:\tpush   0x2d1822(%rip)        # 992348 <go:fipsinfo+0x1c8>\n" +
		"  401006:\tjmp    *0x2d1824(%rip)        # 992350 <go:fipsinfo+0x1d0>\n" +
		"  40100c:\tnopl   0x0(%rax)\n" +
		"\n" +
		"0000000000401010 <__errno_location@plt>:\n" +
		"  401010:\t.%\".-.h.........\n" +
		"\n" +
		"Disassembly of section .text:\n\n" +
		"0000000000402000 <runtime.text>:\n" +
		"\n" +
		"0000000000402000 <main.f[go.shape.int]>:\n" +
		"  402000:\tlock cmpxchg %rdx,(%rcx)\n" +
		"  402005:\tnotrack jmp *%rax\n" +
		"  402007:\tjne    402000 <main.f[go.shape.int]>\n" +
		"  402009:\tcall   401010 <__errno_location@plt>\n" +
		"  40200e:\tvmovdqu32 (%rax),%zmm1{%k1}{z}\n" +
		"  402014:\t(bad)\n" +
		"  402015:\trex.W hlt\n" +
		"  402017:\tbnd jmp 402000 <main.f[go.shape.int]>\n" +
		"\t...\n" +
		"  402030:\tint3\n"
	funcs, err := Parse(strings.NewReader(text))
	require.NoError(t, err)
	require.Len(t, funcs, 4)

	assert.Equal(t, "__errno_location@plt-0x10", funcs[0].Name)
	assert.Equal(t, ".plt", funcs[0].Section)
	assert.Equal(t, "push", funcs[0].Insns[0].Mnemonic)
	assert.Equal(t, "0x2d1822(%rip)", funcs[0].Insns[0].Operands, "comment stripped")
	assert.True(t, funcs[0].Insns[1].IsIndirectJmp())

	// The Go linker's PLT entries disassemble as garbage: kept, inert.
	require.Len(t, funcs[1].Insns, 1)
	assert.Equal(t, "", funcs[1].Insns[0].Mnemonic)

	assert.Equal(t, "runtime.text", funcs[2].Name)
	assert.Empty(t, funcs[2].Insns)

	f := funcs[3]
	assert.Equal(t, "main.f[go.shape.int]", f.Name)
	assert.Equal(t, ".text", f.Section)
	assert.Equal(t, uint64(0x402000), f.Addr)
	require.Len(t, f.Insns, 9)
	in := f.Insns
	assert.Equal(t, "cmpxchg", in[0].Mnemonic)
	assert.Equal(t, "%rdx,(%rcx)", in[0].Operands)
	assert.Equal(t, "lock cmpxchg %rdx,(%rcx)", in[0].Text)
	assert.Equal(t, "jmp", in[1].Mnemonic)
	assert.True(t, in[1].IsIndirectJmp())
	assert.True(t, in[2].IsCondJmp())
	assert.True(t, in[2].HasTarget)
	assert.Equal(t, uint64(0x402000), in[2].Target)
	assert.Equal(t, "main.f[go.shape.int]", in[2].TargetSym)
	assert.Equal(t, "402000", in[2].Operands, "annotation stripped")
	assert.True(t, in[3].IsCall())
	assert.Equal(t, "__errno_location@plt", in[3].TargetSym)
	assert.True(t, in[4].Dirties())
	assert.False(t, in[4].LegacySSE())
	assert.Equal(t, "", in[5].Mnemonic, "(bad)")
	assert.Equal(t, "hlt", in[6].Mnemonic)
	assert.True(t, in[7].IsJmp())
	assert.False(t, in[7].IsIndirectJmp())
	assert.Equal(t, uint64(0x402000), in[7].Target)
	assert.Equal(t, "int3", in[8].Mnemonic)
	assert.Equal(t, uint64(0x402030), in[8].Addr)

	assert.True(t, f.Wide())
	assert.False(t, funcs[0].Wide())
}

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		text                   string
		sse, dirty, clean, ret bool
	}{
		{text: "movq %rcx,%xmm5", sse: true},
		{text: "vmovq %rcx,%xmm5"},
		{text: "movq %rcx,%rax"},
		{text: "movq %mm0,%rax"},
		{text: "movups %xmm15,0x10(%rsp)", sse: true},
		{text: "xorps %xmm15,%xmm15", sse: true},
		{text: "sha256rnds2 %xmm0,%xmm1,%xmm2", sse: true},
		{text: "aesenc %xmm1,%xmm0", sse: true},
		{text: "cvtsi2sdq %rax,%xmm0", sse: true},
		{text: "cvttsd2si %xmm0,%rax", sse: true},
		{text: "cvttsd2si 0x8(%rsp),%rax", sse: true},
		{text: "ldmxcsr 0x8(%rsp)"},
		{text: "vmovdqu %ymm0,(%rax)", dirty: true},
		{text: "vmovdqu64 %zmm31,(%rax)", dirty: true},
		{text: "vcvtpd2ps %ymm0,%xmm1", dirty: true},
		{text: "kmovq %k0,0x800(%rax)"},
		{text: "vzeroupper", clean: true},
		{text: "vzeroall", clean: true},
		{text: "ret", ret: true},
		{text: "retq", ret: true},
		{text: "repz ret", ret: true},
		{text: "ret $0x8", ret: true},
		{text: "call 401000 <xmm_ymm_function>"},
		{text: "lea 0x10(%rip),%rax        # 4000 <ymm_table>"},
	} {
		in := ParseInsn(0x1000, tt.text)
		assert.Equal(t, tt.sse, in.LegacySSE(), "LegacySSE(%q)", tt.text)
		assert.Equal(t, tt.dirty, in.Dirties(), "Dirties(%q)", tt.text)
		assert.Equal(t, tt.clean, in.Cleans(), "Cleans(%q)", tt.text)
		assert.Equal(t, tt.ret, in.IsRet(), "IsRet(%q)", tt.text)
	}
}

func TestSiteString(t *testing.T) {
	funcs, err := Parse(strings.NewReader(objdump(`
0000000000401000 <main.f>:
  401000: vaddps %ymm0,%ymm1,%ymm1
  401004: movq %rcx,%xmm5
  401009: call 409000 <runtime.panicBounds>
`)))
	require.NoError(t, err)
	sites := Check(funcs)
	require.Len(t, sites, 2)
	assert.Equal(t, "main.f+0x4 (0x401004): sse: movq %rcx,%xmm5 [dirty since main.f+0x0 (0x401000): vaddps %ymm0,%ymm1,%ymm1]", sites[0].String())
	assert.True(t, sites[1].NoReturn)
	assert.Contains(t, sites[1].String(), "call (noreturn): call 409000 <runtime.panicBounds>")

	sum := Summarize(funcs, sites)
	assert.Equal(t, Summary{Funcs: 1, WideFuncs: 1, Sites: 2, SiteFuncs: 1, ByKind: map[string]int{"sse": 1, "call": 1}}, sum)
	assert.Equal(t, "1 functions scanned, 1 with ymm/zmm, 2 sites in 1 functions (call=1 sse=1)", sum.String())
}
