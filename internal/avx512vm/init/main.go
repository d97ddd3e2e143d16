//go:build linux

// Command init is PID 1 of the emulated AVX-512 machine of make
// test-cpu-avx512 (internal/avx512vm/run.sh): it mounts the pseudo file
// systems, prints the CPU's flags, runs the command in /cmdline and powers
// the machine off.
//
// /cmdline holds one word per line: first any NAME=value lines, the
// environment added to the command's, then the command and its arguments.
// The command runs in /work. Its output goes to the serial console, and the
// last line init prints is "AVX512VM exit N", N the command's exit status,
// which run.sh reads.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

func main() {
	code := run()
	fmt.Printf("AVX512VM exit %d\n", code)
	os.Stdout.Sync()
	syscall.Sync()
	// The console drains its buffer before the power goes.
	time.Sleep(2 * time.Second)
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
}

func run() int {
	for _, m := range []struct{ fs, dir string }{{"proc", "/proc"}, {"sysfs", "/sys"}, {"devtmpfs", "/dev"}} {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			fmt.Println("AVX512VM:", err)
			return 125
		}
		if err := syscall.Mount(m.fs, m.dir, m.fs, 0, ""); err != nil {
			fmt.Printf("AVX512VM: mount %s: %v\n", m.dir, err)
			return 125
		}
	}
	if err := os.MkdirAll("/tmp", 0o1777); err != nil {
		fmt.Println("AVX512VM:", err)
		return 125
	}
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(info), "\n") {
			if strings.HasPrefix(l, "model name") || strings.HasPrefix(l, "flags") {
				fmt.Println("AVX512VM cpuinfo", strings.Join(strings.Fields(l), " "))
			}
			if l == "" {
				break
			}
		}
	}
	b, err := os.ReadFile("/cmdline")
	if err != nil {
		fmt.Println("AVX512VM:", err)
		return 125
	}
	args := strings.Split(strings.TrimSpace(string(b)), "\n")
	env := []string{"PATH=/bin", "HOME=/tmp", "TMPDIR=/tmp"}
	for len(args) > 0 && !strings.HasPrefix(args[0], "/") && strings.Contains(args[0], "=") {
		env, args = append(env, args[0]), args[1:]
	}
	if len(args) == 0 {
		fmt.Println("AVX512VM: /cmdline names no command")
		return 125
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir, cmd.Env = "/work", env
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	start := time.Now()
	err = cmd.Run()
	fmt.Printf("AVX512VM %s ran %.1f s (guest clock)\n", args[0], time.Since(start).Seconds())
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	default:
		fmt.Println("AVX512VM:", err)
		return 126
	}
}
