// Command ssecheck reports SSE/AVX transition-penalty sites in amd64 ELF
// files: legacy-SSE instructions, returns, calls and tail calls executed while
// the upper halves of the ymm/zmm registers may be dirty. See package
// github.com/gofocal/gofocal/internal/ssecheck for the analysis.
//
// Usage:
//
//	go run ./internal/ssecheck/cmd/ssecheck [-func REGEXP] [-q] FILE...
//
// It prints one line per site and a summary line per file on stderr, and
// exits with status 1 if it found any site, 2 on errors.
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"

	"github.com/gofocal/gofocal/internal/ssecheck"
)

func main() {
	funcRE := flag.String("func", "", "only check functions whose symbol name matches this regular expression")
	quiet := flag.Bool("q", false, "do not print the per-file summary")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: ssecheck [-func REGEXP] [-q] FILE...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var re *regexp.Regexp
	if *funcRE != "" {
		var err error
		if re, err = regexp.Compile(*funcRE); err != nil {
			fmt.Fprintf(os.Stderr, "ssecheck: -func: %v\n", err)
			os.Exit(2)
		}
	}
	found := false
	for _, path := range flag.Args() {
		funcs, err := ssecheck.DisassembleFile(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ssecheck: %v\n", err)
			os.Exit(2)
		}
		if re != nil {
			kept := funcs[:0]
			for _, f := range funcs {
				if re.MatchString(f.Name) {
					kept = append(kept, f)
				}
			}
			funcs = kept
		}
		sites := ssecheck.Check(funcs)
		for _, s := range sites {
			fmt.Printf("%s: %s\n", path, s)
		}
		if !*quiet {
			fmt.Fprintf(os.Stderr, "%s: %s\n", path, ssecheck.Summarize(funcs, sites))
		}
		found = found || len(sites) > 0
	}
	if found {
		os.Exit(1)
	}
}
