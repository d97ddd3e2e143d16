#!/usr/bin/env bash
# run.sh WORKDIR: the goloss tests on an emulated AVX-512 CPU (make
# test-cpu-avx512). qemu-user cannot run AVX-512 code; the Bochs x86
# emulator can, as a whole PC: this boots Debian's Linux kernel in Bochs 3.0
# with an Intel Skylake-X CPU (AVX-512 F, CD, BW, DQ, VL) and runs the
# goloss test binary there as the first process (init/main.go), on the
# serial console.
#
# It sets up what it needs in WORKDIR, once: Bochs 3.0 built from Debian's
# source tarball (Debian 12 ships 2.7, whose CPUID misreports the XSAVE
# area's size, so that Linux turns AVX off), the kernel of Debian's
# linux-image-amd64, and isolinux and genisoimage for the boot CD.
#
# GOLOSS_TEST_ARGS: the test binary's flags (default -test.short); the
# environment of the test is GOLOSS_UNDER_QEMU=1 (the emulator is slow: the
# sweeps take their qemu stride) and GOLOSS_WANT_KERNELS=generic,avx2,avx512,
# so that a run on which the avx512 kernels did not run fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mkdir -p "$1" && cd "$1" && pwd)
GO=${GO:-go}
args=${GOLOSS_TEST_ARGS:--test.short}
timeout=${AVX512VM_TIMEOUT:-3600}

bochs_version=3.0
bochs_tar=bochs_${bochs_version}+dfsg.orig.tar.xz
bochs_sha256=78f6c73d4a6472d5130a87ab9dc306d02c7c71ed8e25b3a8ef642e2a7acd282b
bochs_url=http://deb.debian.org/debian/pool/main/b/bochs/$bochs_tar
bochs=$work/bochs-$bochs_version/bochs

need=()
command -v genisoimage >/dev/null || need+=(genisoimage)
command -v cpio >/dev/null || need+=(cpio)
command -v xz >/dev/null || need+=(xz-utils)
command -v curl >/dev/null || need+=(curl)
[ -f /usr/lib/ISOLINUX/isolinux.bin ] || need+=(isolinux)
[ -f /usr/lib/syslinux/modules/bios/ldlinux.c32 ] || need+=(syslinux-common)
[ -f /usr/share/vgabios/vgabios.bin ] || need+=(vgabios)
if [ ${#need[@]} -gt 0 ]; then
	echo "== apt-get install ${need[*]}"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x "$bochs" ]; then
	echo "== Bochs $bochs_version from $bochs_url"
	rm -rf "$work/bochs-$bochs_version"
	curl -sSfL -o "$work/$bochs_tar" "$bochs_url"
	echo "$bochs_sha256  $work/$bochs_tar" | sha256sum -c --quiet
	tar -xf "$work/$bochs_tar" -C "$work"
	# A PC with a 64-bit CPU up to AVX-512, no GUI, no debugger, no plugins.
	(cd "$work/bochs-$bochs_version" &&
		./configure --enable-x86-64 --enable-avx --enable-evex --enable-cpu-level=6 \
			--enable-all-optimizations --with-nogui --without-x11 --without-x \
			--enable-pci --disable-debugger --disable-plugins --enable-usb=no \
			--disable-sb16 --disable-es1370 --disable-ne2000 --disable-pnic \
			--disable-e1000 --disable-voodoo >configure.log 2>&1 &&
		make -j"$(nproc)" >make.log 2>&1) || {
		tail -20 "$work/bochs-$bochs_version"/*.log
		exit 1
	}
fi

if [ ! -f "$work/vmlinuz" ]; then
	kernel_pkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
	pkg=$(kernel_pkg)
	[ -n "$pkg" ] || { apt-get update -qq && pkg=$(kernel_pkg); }
	echo "== the kernel of $pkg"
	rm -rf "$work/kernel" && mkdir -p "$work/kernel"
	(cd "$work/kernel" && apt-get download "$pkg" 2>/dev/null && dpkg-deb -x ./*.deb x)
	cp "$work"/kernel/x/boot/vmlinuz-* "$work/vmlinuz"
	rm -rf "$work/kernel"
fi

echo "== the goloss test binary and the guest's init"
rm -rf "$work/initrd" "$work/iso" && mkdir -p "$work/initrd/work/internal" "$work/iso/isolinux"
(cd "$root" && CGO_ENABLED=0 "$GO" build -ldflags='-s -w' -o "$work/initrd/init" ./internal/avx512vm/init &&
	CGO_ENABLED=0 "$GO" test -c -ldflags='-s -w' -o "$work/initrd/goloss.test" ./goloss)
cp -r "$root/goloss/testdata" "$work/initrd/work/"
# The tests that read the generated assembly.
for d in avx2 avx512; do
	mkdir -p "$work/initrd/work/internal/$d" && cp "$root/goloss/internal/$d"/*.s "$work/initrd/work/internal/$d/"
done
{
	echo GOLOSS_UNDER_QEMU=1
	echo GOLOSS_WANT_KERNELS=generic,avx2,avx512
	echo /goloss.test
	printf '%s\n' $args
} >"$work/initrd/cmdline"
(cd "$work/initrd" && find . | cpio -o -H newc 2>/dev/null | xz --check=crc32 -6 >"$work/iso/initrd.xz")
cp "$work/vmlinuz" "$work/iso/vmlinuz"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$work/iso/isolinux/"
cat >"$work/iso/isolinux/isolinux.cfg" <<CFG
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  APPEND initrd=/initrd.xz console=ttyS0,115200 quiet loglevel=3 mitigations=off
CFG
genisoimage -quiet -o "$work/boot.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table -J -R "$work/iso"

cat >"$work/bochsrc" <<RC
megs: 2048
cpu: model=corei7_skylake_x, count=1, ips=200000000, reset_on_triple_fault=0
romimage: file=$work/bochs-$bochs_version/bios/bios.bin-1.13.0
vgaromimage: file=/usr/share/vgabios/vgabios.bin
display_library: nogui
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path=$work/boot.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$work/serial.out
clock: sync=none, time0=local
log: $work/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
RC

echo "== booting Bochs $bochs_version (Skylake-X); the guest runs /goloss.test $args"
rm -f "$work/serial.out"
start=$(date +%s)
rc=0
timeout "$timeout" "$bochs" -q -f "$work/bochsrc" >"$work/bochs.stdout" 2>&1 || rc=$?
# The guest's output, without the boot loader's and the kernel's lines.
grep -v -E '^(ISOLINUX|\[ *[0-9]+\.[0-9]+\]|\s*$)' "$work/serial.out" || true
# Bochs reports the guest's ACPI power-off as a panic, and exits 1.
how="exit $rc"
grep -q 'ACPI control: soft power off' "$work/bochs.stdout" && how="the guest powered off"
[ "$rc" = 124 ] && how="killed after ${timeout} s (AVX512VM_TIMEOUT)"
echo "== Bochs ran $(( $(date +%s) - start )) s ($how)"
status=$(sed -n 's/^AVX512VM exit \([0-9]*\).*/\1/p' "$work/serial.out" | tail -1)
if [ "$status" != 0 ]; then
	echo "FAIL: the test binary under Bochs: exit status '${status:-none}' (the emulator: $rc; $work/bochs.log, $work/bochs.stdout)"
	tail -5 "$work/bochs.stdout"
	exit 1
fi
