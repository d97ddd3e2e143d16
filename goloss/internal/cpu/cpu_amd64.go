package cpu

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

func init() {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		popcnt  = 1 << 23
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	X86.POPCNT = ecx1&popcnt != 0
	if ecx1&osxsave == 0 || ecx1&avx == 0 {
		return
	}
	xcr0, _ := xgetbv()
	const (
		xmmYmm   = 1<<1 | 1<<2        // SSE and AVX state
		zmmState = 1<<5 | 1<<6 | 1<<7 // opmask, ZMM0-15 upper halves, ZMM16-31
	)
	if xcr0&xmmYmm != xmmYmm {
		return
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const (
		avx2     = 1 << 5
		avx512f  = 1 << 16
		avx512dq = 1 << 17
		avx512cd = 1 << 28
		avx512bw = 1 << 30
		avx512vl = 1 << 31
		bmi2     = 1 << 8
	)
	X86.AVX2FMA = ebx7&avx2 != 0 && ecx1&fma != 0 && ebx7&bmi2 != 0 && X86.POPCNT
	all512 := uint32(avx512f | avx512dq | avx512cd | avx512bw | avx512vl)
	X86.AVX512 = X86.AVX2FMA && xcr0&zmmState == zmmState && ebx7&all512 == all512
}
