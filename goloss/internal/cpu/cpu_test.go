package cpu

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestAgreesWithProcCPUInfo holds the CPUID reading to the kernel's own
// list of flags, where Linux provides one (under qemu-user it describes the
// host, not the emulated CPU, so the test says so and compares nothing).
func TestAgreesWithProcCPUInfo(t *testing.T) {
	t.Logf("AVX2+FMA %v, AVX-512 %v, POPCNT %v", X86.AVX2FMA, X86.AVX512, X86.POPCNT)
	if runtime.GOARCH != "amd64" {
		if X86.AVX2FMA || X86.AVX512 {
			t.Fatalf("x86 features reported on %s", runtime.GOARCH)
		}
		return
	}
	if os.Getenv("GOLOSS_UNDER_QEMU") != "" {
		t.Log("under qemu-user: /proc/cpuinfo is the host's; not compared")
		return
	}
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Logf("no /proc/cpuinfo: %v", err)
		return
	}
	var flags map[string]bool
	for _, line := range strings.Split(string(b), "\n") {
		if name, list, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "flags" {
			flags = map[string]bool{}
			for _, f := range strings.Fields(list) {
				flags[f] = true
			}
			break
		}
	}
	if flags == nil {
		t.Log("/proc/cpuinfo has no flags line")
		return
	}
	want2 := flags["avx2"] && flags["fma"] && flags["bmi2"] && flags["popcnt"]
	want512 := want2 && flags["avx512f"] && flags["avx512dq"] && flags["avx512cd"] && flags["avx512bw"] && flags["avx512vl"]
	if X86.AVX2FMA != want2 || X86.AVX512 != want512 {
		t.Fatalf("CPUID says AVX2+FMA %v, AVX-512 %v; /proc/cpuinfo says %v, %v", X86.AVX2FMA, X86.AVX512, want2, want512)
	}
}
