package goloss

import "runtime"

func getMXCSR() uint32
func setMXCSR(v uint32)

// ftzDAZ are MXCSR's flush-to-zero and denormals-are-zero bits.
const ftzDAZ = 1<<15 | 1<<6

// withDefaultFPMode runs fn on the current thread with subnormals kept
// (flush-to-zero and denormals-are-zero off), then restores the thread's
// mode. Threads inherit their creator's mode: TensorFlow's set both bits,
// and Go threads created from them inherit them; results must not depend on
// which thread computes a row.
func withDefaultFPMode(fn func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	saved := getMXCSR()
	if saved&ftzDAZ == 0 {
		fn()
		return
	}
	setMXCSR(saved &^ ftzDAZ)
	defer setMXCSR(saved)
	fn()
}
