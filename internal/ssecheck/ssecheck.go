// Package ssecheck finds SSE/AVX transition penalties in built amd64 ELF
// binaries by static analysis of their disassembly.
//
// # The penalty
//
// When the upper halves (bits 128 and up) of any YMM/ZMM register are "dirty"
// (non-zero because 256- or 512-bit code wrote them), executing a single
// legacy-SSE (non-VEX-encoded) instruction costs on the order of hundreds of
// cycles on Intel and AMD Zen CPUs: the core either saves/restores the upper
// state or has to merge it into every SSE result (a false dependency). A
// `MOVQ CX, X5` (legacy `movq %rcx,%xmm5`) inside an AVX2 loop made one of our
// loops go from ~1 ns to ~107 ns per iteration. The cure is to use VEX forms
// (VMOVQ, VXORPS, ...) everywhere inside vector code and to execute
// VZEROUPPER (or VZEROALL) before any legacy-SSE code runs, before returning
// and before calling anything (the callee, Go runtime or libc, may well use
// legacy SSE: Go's compiler zeroes memory with `movups %xmm15,...`).
//
// # The analysis
//
// [Parse] reads the output of `objdump -d --no-show-raw-insn -w` (AT&T
// syntax) into functions, one per `<symbol>:` header, and instructions.
// [Check] then runs, for each function separately, a forward dataflow
// analysis over the function's basic blocks with a one-bit state, "upper
// halves dirty":
//
//   - The entry state of every function is clean (see "False negatives").
//   - Any instruction naming a %ymm or %zmm register, as source or
//     destination, makes the state dirty. We do not try to tell reads from
//     writes: reading a ymm register means someone wrote it, and being
//     conservative here costs nothing in practice.
//   - vzeroupper and vzeroall make it clean. Every other instruction leaves
//     it as it is; in particular VEX/EVEX instructions on %xmm registers (they
//     zero the upper bits of their destination, they never dirty it) and
//     AVX-512 mask registers %k0-%k7.
//   - At a join the state is dirty if it is dirty on any incoming path (OR),
//     and the analysis iterates to a fixed point, so a legacy-SSE instruction
//     that comes before a ymm write in program order but is reached again
//     through a loop's back edge is found.
//
// A [Site] is reported where, in dirty state, the program executes
//
//   - "sse": a legacy-SSE instruction, i.e. any instruction with an %xmm
//     operand whose mnemonic does not start with "v" (movq, movd, movsd,
//     movups, xorps, pxor, cvtsi2sd, ucomisd, aesenc, sha256rnds2, ...), and
//     the SSE conversions that have no xmm register operand in their memory
//     form (cvtsd2si/cvttsd2si/cvtss2si/cvttss2si with a memory source).
//     ldmxcsr/stmxcsr, the fences, prefetches and movnti are SSE-encoded but
//     touch no vector register, so they are deliberately not reported; MMX and
//     x87 instructions do not touch the vector registers either.
//   - "ret": a return (ret, and also lret/iret, which only occur in data
//     misdisassembled as code).
//   - "call": a call, direct or indirect. The state after a call is taken to
//     be the state before it: a callee that returns dirty is itself reported
//     at its own ret. Calls to functions that never return (runtime.panicBounds,
//     runtime.throw, abort, ...; see [NoReturn]) have no fall-through edge, and
//     a dirty one is reported with Site.NoReturn set: it only costs on the way
//     to a panic or crash.
//   - "tailcall": a direct jmp, or conditional jump, to an address outside the
//     function (gcc's tail calls and jumps into .cold parts, Go's tail calls,
//     PLT stubs), or to an address inside the function's range that is not
//     the start of one of its instructions (the disassembly is out of step
//     with the code, we cannot follow the jump).
//   - "indirect": an indirect jmp (`jmp *%rax`, `notrack jmp *...`). It may be
//     a tail call (Go's assembly uses `JMP reg` for those) or a jump-table
//     dispatch inside the function. We cannot see its targets, so: it is
//     reported if dirty, and it is taken to possibly reach every instruction
//     of its function, i.e. in a function with an indirect jmp every
//     instruction is its own block and has the indirect jmps among its
//     predecessors. This only changes anything when the indirect jmp itself
//     is reached dirty, which is then reported.
//
// # Parsing details
//
// Prefixes (lock, rep, repz, data16, cs, ds, notrack, bnd, rex.W, {vex}, ...)
// are stripped to find the mnemonic, so `repz ret` is a ret and
// `data16 cs nopw ...` a nop. `(bad)` lines and lines objdump cannot decode
// (the Go linker's PLT entries come out as garbage like `.%".-.h....`) are
// kept as instructions that do nothing. Padding int3 and nops are ordinary
// instructions; they are only ever reached after a ret or jmp when the code is
// unreachable anyway. A symbol with no instructions yields a Func with no
// Insns. PLT stubs are functions like any other: they start clean, so they
// never produce sites; the callers' call sites are what matters.
//
// # False positives and negatives
//
//   - Function entry is assumed clean. A function entered with dirty upper
//     halves is not analysed dirty until it names a ymm/zmm register itself:
//     the caller's "call" site reports the dirty call instead. That covers Go
//     functions that receive archsimd vectors in Y/Z registers
//     (GOEXPERIMENT=simd): any legacy-SSE instruction they execute before
//     touching a ymm register is missed, their caller's call is not. Code
//     entered by a jump from another function (gcc's foo.cold parts, the
//     target of another function's "tailcall") is likewise analysed from
//     clean, the jump being reported in its own function.
//   - Unreachable code (after a call to a panic function, padding) is analysed
//     too, starting clean.
//   - ymm16-31/zmm16-31 are treated like ymm0-15 even though legacy SSE cannot
//     touch them (glibc's *-evex string functions rely on that to skip
//     vzeroupper): conservative, possible false positives in such code.
//   - Data in the text section disassembled as code (some crypto assembly) can
//     produce spurious instructions and thus spurious sites.
//   - Paths are not checked for feasibility: a dirty path that cannot actually
//     be taken together with a later legacy-SSE instruction still counts.
//     Example: runtime.asyncPreempt saves the vector registers with ymm or
//     zmm stores on AVX machines and with legacy movups otherwise, testing
//     the same CPU flag before saving and before restoring; the analysis
//     joins the ymm-save path with the movups-restore path and reports the
//     restores.
//   - Reads count like writes: storing a ymm register that is in fact clean
//     (vmovdqu %ymm15,(%rax) in register save code) makes the state dirty.
package ssecheck

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Site kinds.
const (
	KindSSE      = "sse"      // legacy-SSE instruction executed dirty
	KindRet      = "ret"      // return executed dirty
	KindCall     = "call"     // call executed dirty
	KindTailCall = "tailcall" // direct jump out of the function executed dirty
	KindIndirect = "indirect" // indirect jmp (jump table or tail call) executed dirty
)

// Insn is one disassembled instruction.
type Insn struct {
	Addr uint64
	// Text is the instruction as objdump printed it (prefixes, mnemonic,
	// operands and objdump's trailing `# ...` comment), with runs of
	// whitespace collapsed.
	Text string
	// Mnemonic is the instruction's mnemonic without prefixes (lock, rep,
	// data16, notrack, {vex}, ...), lower case, as objdump prints it: "movq",
	// "vaddps", "ret", "jne". Empty for lines objdump could not decode.
	Mnemonic string
	// Operands are the operands as printed, without the `<symbol+off>`
	// annotation of branch targets and without objdump's `# ...` comment.
	Operands string
	// Target is the destination of a direct jump or call; HasTarget says
	// whether there is one.
	Target    uint64
	HasTarget bool
	// TargetSym is objdump's `<symbol+off>` annotation of Target, without
	// the angle brackets ("runtime.panicBounds", "free@plt", "main.f+0x1c").
	TargetSym string
}

// Func is the code under one symbol header of the disassembly.
type Func struct {
	Name    string
	Addr    uint64
	Section string // e.g. ".text", ".plt"
	Insns   []Insn
}

// Wide reports whether any instruction of f names a ymm or zmm register.
func (f *Func) Wide() bool {
	for i := range f.Insns {
		if f.Insns[i].Dirties() {
			return true
		}
	}
	return false
}

// Site is one place where the upper halves of the vector registers are (on
// some path) dirty while the program executes something that pays, or lets
// someone else pay, the transition penalty.
type Site struct {
	Func string
	Addr uint64
	Off  uint64 // Addr - address of Func
	Kind string // KindSSE, KindRet, KindCall, KindTailCall or KindIndirect
	Insn string // the instruction's text
	// DirtiedAt is the address of an instruction that made the state dirty
	// on some path reaching Addr, and DirtiedBy its text: the last such
	// instruction before Addr in straight-line code, the lowest-addressed of
	// the candidates where paths join.
	DirtiedAt uint64
	DirtiedBy string
	// NoReturn is set for calls to functions that never return (see
	// NoReturn): the penalty is paid at most once, on a panic or crash path.
	NoReturn bool
}

// String formats s on one line, e.g.
//
//	main.f+0x1c (0x47c11c): sse: movq %rcx,%xmm5 [dirty since main.f+0x2a (0x47c12a): vaddps %ymm0,%ymm1,%ymm1]
func (s Site) String() string {
	dirty := ""
	if s.DirtiedBy != "" {
		dirty = fmt.Sprintf(" [dirty since %s+%#x (%#x): %s]", s.Func, s.DirtiedAt-(s.Addr-s.Off), s.DirtiedAt, s.DirtiedBy)
	}
	kind := s.Kind
	if s.NoReturn {
		kind += " (noreturn)"
	}
	return fmt.Sprintf("%s+%#x (%#x): %s: %s%s", s.Func, s.Off, s.Addr, kind, s.Insn, dirty)
}

var (
	headerRE  = regexp.MustCompile(`^([0-9a-f]+) <(.*)>:\s*$`)
	insnRE    = regexp.MustCompile(`^\s*([0-9a-f]+):\t(.*)$`)
	sectionRE = regexp.MustCompile(`^Disassembly of section (\S+):`)
	wideRE    = regexp.MustCompile(`%[yz]mm[0-9]`)
	xmmRE     = regexp.MustCompile(`%xmm[0-9]`)
	annotRE   = regexp.MustCompile(`\s*<[^<>]*>`)
	hexRE     = regexp.MustCompile(`^[0-9a-f]+$`)
	symRE     = regexp.MustCompile(`^<(.*)>$`)
)

// NoReturn matches the names of functions that never return (Go's panics and
// fatal errors, libc's abort/exit, stack-protector and assertion failures). A
// call to one of them (TargetSym, with any @plt suffix) has no fall-through
// edge: the Go compiler places such calls at the end of a function, right
// before the morestack epilogue that jumps back to the entry, and falling
// through them would make the whole function look dirty from its entry. A
// dirty call to one of them is still reported, with Site.NoReturn set (the
// penalty is then paid once, on the way to a crash or panic).
var NoReturn = regexp.MustCompile(`^(` +
	`runtime\.(panic(Bounds|Extend|Index\w*|Slice\w*|wrap|dottype[EI]|nildottype|divide|shift|overflow|float|mem|memAddr|unsafe\w+|makeslice\w+|rangestate|nilError)|goPanic\w+|throw|fatal|fatalthrow|fatalpanic|gopanic|Goexit)` +
	`|internal/runtime/maps\.fatal|sync\.fatal|internal/sync\.(throw|fatal)|internal/runtime/cgroup\.throw|os\.Exit` +
	`|abort|exit|_exit|_Exit|__stack_chk_fail|__assert_fail|__cxa_throw|__cxa_rethrow|_Unwind_Resume|__fortify_fail|__chk_fail|longjmp|siglongjmp|__longjmp_chk|pthread_exit` +
	`)(@plt)?$`)

// IsNoReturnCall reports whether the instruction calls a function matching
// NoReturn.
func (in *Insn) IsNoReturnCall() bool {
	return in.IsCall() && in.TargetSym != "" && NoReturn.MatchString(in.TargetSym)
}

// prefixes objdump prints before the mnemonic.
var prefixes = map[string]bool{
	"lock": true, "rep": true, "repz": true, "repe": true, "repnz": true, "repne": true,
	"data16": true, "data32": true, "addr16": true, "addr32": true,
	"cs": true, "ds": true, "es": true, "ss": true, "fs": true, "gs": true,
	"notrack": true, "bnd": true, "xacquire": true, "xrelease": true,
}

func isPrefix(tok string) bool {
	return prefixes[tok] || strings.HasPrefix(tok, "rex") || (strings.HasPrefix(tok, "{") && strings.HasSuffix(tok, "}"))
}

// ParseInsn parses the text objdump prints after an address ("mov %rax,%rbx",
// "repz ret", "jne 401020 <main.f+0x20>").
func ParseInsn(addr uint64, text string) Insn {
	text = strings.Join(strings.Fields(text), " ")
	in := Insn{Addr: addr, Text: text}
	body := text
	if i := strings.IndexByte(body, '#'); i >= 0 {
		body = strings.TrimSpace(body[:i])
	}
	toks := strings.Fields(body)
	i := 0
	for i < len(toks)-1 && isPrefix(toks[i]) {
		i++
	}
	if len(toks) == 0 || strings.HasPrefix(toks[i], "(bad)") || !isMnemonic(toks[i]) {
		return in
	}
	in.Mnemonic = toks[i]
	in.Operands = annotRE.ReplaceAllString(strings.Join(toks[i+1:], " "), "")
	if in.isBranch() && len(toks) > i+1 && hexRE.MatchString(toks[i+1]) {
		if t, err := strconv.ParseUint(toks[i+1], 16, 64); err == nil {
			in.Target, in.HasTarget = t, true
			if m := symRE.FindStringSubmatch(strings.Join(toks[i+2:], " ")); m != nil {
				in.TargetSym = m[1]
			}
		}
	}
	return in
}

// isMnemonic rejects the garbage objdump prints for bytes it cannot decode.
func isMnemonic(tok string) bool {
	for _, r := range tok {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '{' || r == '}') {
			return false
		}
	}
	return tok != "" && tok[0] >= 'a' && tok[0] <= 'z'
}

// Dirties reports whether the instruction names a ymm or zmm register.
func (in *Insn) Dirties() bool { return wideRE.MatchString(in.Operands) }

// Cleans reports whether the instruction zeroes all upper halves.
func (in *Insn) Cleans() bool { return in.Mnemonic == "vzeroupper" || in.Mnemonic == "vzeroall" }

// sseNoXMM are legacy-SSE instructions that can appear without any xmm
// register operand (memory source, GPR destination) and still compute in the
// SSE unit.
var sseNoXMM = map[string]bool{
	"cvtsd2si": true, "cvttsd2si": true, "cvtss2si": true, "cvttss2si": true,
	"cvtsd2siq": true, "cvttsd2siq": true, "cvtss2siq": true, "cvttss2siq": true,
	"cvtsd2sil": true, "cvttsd2sil": true, "cvtss2sil": true, "cvttss2sil": true,
}

// LegacySSE reports whether the instruction is a non-VEX SSE instruction.
func (in *Insn) LegacySSE() bool {
	if in.Mnemonic == "" || in.Mnemonic[0] == 'v' {
		return false
	}
	return xmmRE.MatchString(in.Operands) || sseNoXMM[in.Mnemonic]
}

// IsRet reports whether the instruction returns.
func (in *Insn) IsRet() bool {
	switch strings.TrimRight(in.Mnemonic, "wlq") {
	case "ret", "lret", "iret":
		return true
	}
	return false
}

// IsCall reports whether the instruction is a call (direct or indirect).
func (in *Insn) IsCall() bool {
	switch in.Mnemonic {
	case "call", "callq", "callw", "calll", "lcall", "lcallq", "lcallw", "lcalll":
		return true
	}
	return false
}

// IsJmp reports whether the instruction is an unconditional jump.
func (in *Insn) IsJmp() bool {
	switch in.Mnemonic {
	case "jmp", "jmpq", "jmpw", "jmpl", "ljmp", "ljmpq", "ljmpw", "ljmpl":
		return true
	}
	return false
}

// IsCondJmp reports whether the instruction is a conditional branch (falls
// through or goes to Target).
func (in *Insn) IsCondJmp() bool {
	m := in.Mnemonic
	if strings.HasPrefix(m, "j") && !in.IsJmp() {
		return true
	}
	return strings.HasPrefix(m, "loop") || m == "xbegin"
}

// IsIndirectJmp reports whether the instruction is an unconditional jump
// whose destination is not known statically.
func (in *Insn) IsIndirectJmp() bool { return in.IsJmp() && !in.HasTarget }

func (in *Insn) isBranch() bool { return in.IsJmp() || in.IsCondJmp() || in.IsCall() }

// noFallthrough reports whether execution never continues with the next
// instruction.
func (in *Insn) noFallthrough() bool {
	return in.IsJmp() || in.IsRet() || in.Mnemonic == "ud2" || in.IsNoReturnCall()
}

// Parse reads `objdump -d --no-show-raw-insn -w` output.
func Parse(r io.Reader) ([]Func, error) {
	var funcs []Func
	section := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if m := sectionRE.FindStringSubmatch(s); m != nil {
			section = m[1]
			continue
		}
		if m := headerRE.FindStringSubmatch(s); m != nil {
			addr, err := strconv.ParseUint(m[1], 16, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", line, err)
			}
			funcs = append(funcs, Func{Name: m[2], Addr: addr, Section: section})
			continue
		}
		if m := insnRE.FindStringSubmatch(s); m != nil {
			addr, err := strconv.ParseUint(m[1], 16, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", line, err)
			}
			if len(funcs) == 0 {
				// Code before any symbol: give it a pseudo function.
				funcs = append(funcs, Func{Name: fmt.Sprintf("%s@%#x", section, addr), Addr: addr, Section: section})
			}
			f := &funcs[len(funcs)-1]
			f.Insns = append(f.Insns, ParseInsn(addr, m[2]))
			continue
		}
		// Anything else: the file header, blank lines, "\t..." for skipped
		// zeroes.
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return funcs, nil
}

// Objdump is the objdump command CheckFile and DisassembleFile run.
var Objdump = "objdump"

// DisassembleFile runs objdump on the ELF file path and parses its output.
func DisassembleFile(path string) ([]Func, error) {
	return DisassembleFileContext(context.Background(), path)
}

// DisassembleFileContext is DisassembleFile with a context.
func DisassembleFileContext(ctx context.Context, path string) ([]Func, error) {
	cmd := exec.CommandContext(ctx, Objdump, "-d", "--no-show-raw-insn", "-w", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	funcs, perr := Parse(out)
	if perr != nil {
		_, _ = io.Copy(io.Discard, out)
	}
	werr := cmd.Wait()
	if werr != nil {
		return nil, fmt.Errorf("%s -d %s: %v: %s", Objdump, path, werr, strings.TrimSpace(stderr.String()))
	}
	if perr != nil {
		return nil, fmt.Errorf("parsing %s -d %s: %v", Objdump, path, perr)
	}
	if len(funcs) == 0 {
		return nil, errors.New(Objdump + " -d " + path + ": no code found")
	}
	return funcs, nil
}

// CheckFile disassembles the ELF file path with objdump and checks it.
func CheckFile(path string) ([]Site, error) {
	funcs, err := DisassembleFile(path)
	if err != nil {
		return nil, err
	}
	return Check(funcs), nil
}

// Check runs the analysis on every function and returns the sites in the
// order of the functions and, within one, of addresses.
func Check(funcs []Func) []Site {
	var sites []Site
	for i := range funcs {
		sites = append(sites, CheckFunc(&funcs[i])...)
	}
	return sites
}

// state is the dataflow fact: whether the upper halves are dirty, and if so
// one instruction (index into the function) that dirtied them.
type state struct {
	dirty bool
	by    int // index of the dirtying instruction, if dirty
}

// join is the OR of two states; among two dirtying instructions it keeps the
// lower one, which keeps the result independent of the iteration order and
// makes the iteration terminate (the set of dirtiers reaching a point only
// grows, so its minimum only decreases).
func join(a, b state) state {
	switch {
	case !a.dirty:
		return b
	case !b.dirty:
		return a
	case b.by < a.by:
		return b
	}
	return a
}

func (in *Insn) transfer(i int, s state) state {
	switch {
	case in.Cleans():
		return state{}
	case in.Dirties():
		return state{dirty: true, by: i}
	}
	return s
}

type block struct {
	start, end int   // instruction indices [start, end)
	succs      []int // successor blocks
	allSuccs   bool  // ends in an indirect jmp: every block may follow
}

// CheckFunc runs the analysis on one function.
func CheckFunc(f *Func) []Site {
	insns := f.Insns
	n := len(insns)
	if n == 0 {
		return nil
	}
	index := make(map[uint64]int, n) // address -> instruction index
	for i := range insns {
		index[insns[i].Addr] = i
	}
	// internal returns the index of a branch target inside the function.
	internal := func(in *Insn) (int, bool) {
		if !in.HasTarget {
			return 0, false
		}
		j, ok := index[in.Target]
		return j, ok
	}

	hasIndirect := false
	for i := range insns {
		if insns[i].IsIndirectJmp() {
			hasIndirect = true
			break
		}
	}

	// Leaders: the entry, internal branch targets, and whatever follows a
	// branch. With an indirect jmp every instruction may be a target.
	leader := make([]bool, n)
	leader[0] = true
	for i := range insns {
		in := &insns[i]
		if hasIndirect {
			leader[i] = true
			continue
		}
		if j, ok := internal(in); ok && (in.IsJmp() || in.IsCondJmp()) {
			leader[j] = true
		}
		if (in.IsJmp() || in.IsCondJmp() || in.noFallthrough()) && i+1 < n {
			leader[i+1] = true
		}
	}
	var blocks []block
	blockOf := make([]int, n)
	for i := 0; i < n; i++ {
		if leader[i] {
			blocks = append(blocks, block{start: i})
		}
		blockOf[i] = len(blocks) - 1
		blocks[len(blocks)-1].end = i + 1
	}
	for b := range blocks {
		last := &insns[blocks[b].end-1]
		if last.IsIndirectJmp() {
			blocks[b].allSuccs = true
			continue
		}
		if j, ok := internal(last); ok && (last.IsJmp() || last.IsCondJmp()) {
			blocks[b].succs = append(blocks[b].succs, blockOf[j])
		}
		if !last.noFallthrough() && blocks[b].end < n {
			blocks[b].succs = append(blocks[b].succs, b+1)
		}
	}

	// Fixed point over the blocks' entry states. Every block starts clean and
	// on the work list, so unreachable code is analysed too (from clean).
	in := make([]state, len(blocks))
	work := make([]int, len(blocks))
	queued := make([]bool, len(blocks))
	for b := range blocks {
		work[b], queued[b] = b, true
	}
	update := func(s int, st state) {
		if j := join(in[s], st); j != in[s] {
			in[s] = j
			if !queued[s] {
				queued[s] = true
				work = append(work, s)
			}
		}
	}
	for len(work) > 0 {
		b := work[len(work)-1]
		work = work[:len(work)-1]
		queued[b] = false
		st := in[b]
		for i := blocks[b].start; i < blocks[b].end; i++ {
			st = insns[i].transfer(i, st)
		}
		if blocks[b].allSuccs {
			if st.dirty {
				for s := range blocks {
					update(s, st)
				}
			}
			continue
		}
		for _, s := range blocks[b].succs {
			update(s, st)
		}
	}

	// Report.
	var sites []Site
	for b := range blocks {
		st := in[b]
		for i := blocks[b].start; i < blocks[b].end; i++ {
			ins := &insns[i]
			if st.dirty {
				if kind := siteKind(ins, internal); kind != "" {
					by := &insns[st.by]
					sites = append(sites, Site{
						Func: f.Name, Addr: ins.Addr, Off: ins.Addr - f.Addr, Kind: kind, Insn: ins.Text,
						DirtiedAt: by.Addr, DirtiedBy: by.Text, NoReturn: ins.IsNoReturnCall(),
					})
				}
			}
			st = ins.transfer(i, st)
		}
	}
	sort.Slice(sites, func(i, j int) bool { return sites[i].Addr < sites[j].Addr })
	return sites
}

// siteKind says what kind of site ins is when executed dirty, or "".
func siteKind(ins *Insn, internal func(*Insn) (int, bool)) string {
	switch {
	case ins.LegacySSE():
		return KindSSE
	case ins.IsRet():
		return KindRet
	case ins.IsCall():
		return KindCall
	case ins.IsIndirectJmp():
		return KindIndirect
	case ins.IsJmp() || ins.IsCondJmp():
		if _, ok := internal(ins); !ok {
			// Outside the function, or inside its range but not at an
			// instruction we know: either way we cannot follow it.
			return KindTailCall
		}
	}
	return ""
}

// Summary counts what Check saw in a set of functions.
type Summary struct {
	Funcs     int // functions (symbols with at least one instruction)
	WideFuncs int // functions naming a ymm or zmm register
	Sites     int
	SiteFuncs int            // functions with at least one site
	ByKind    map[string]int // sites per kind
}

// Summarize counts functions, functions using ymm/zmm registers, and sites.
func Summarize(funcs []Func, sites []Site) Summary {
	s := Summary{Sites: len(sites), ByKind: map[string]int{}}
	for i := range funcs {
		if len(funcs[i].Insns) == 0 {
			continue
		}
		s.Funcs++
		if funcs[i].Wide() {
			s.WideFuncs++
		}
	}
	seen := map[string]bool{}
	for _, site := range sites {
		s.ByKind[site.Kind]++
		if !seen[site.Func] {
			seen[site.Func] = true
			s.SiteFuncs++
		}
	}
	return s
}

// String formats s on one line.
func (s Summary) String() string {
	kinds := make([]string, 0, len(s.ByKind))
	for k := range s.ByKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s=%d", k, s.ByKind[k])
	}
	by := ""
	if len(parts) > 0 {
		by = " (" + strings.Join(parts, " ") + ")"
	}
	return fmt.Sprintf("%d functions scanned, %d with ymm/zmm, %d sites in %d functions%s", s.Funcs, s.WideFuncs, s.Sites, s.SiteFuncs, by)
}
