#include "library.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "tensorflow/core/platform/logging.h"

namespace gofocal {
namespace {

// The op whose gradient marks a registered copy of the library.
constexpr char kMarkerOp[] = "GoFocal>SeedFocalLoss";

// The path of the file mapped at addr, from /proc/self/maps (absolute, as
// the kernel records it), or empty.
std::string MappedPath(const void* addr) {
  std::ifstream maps("/proc/self/maps");
  const auto at = reinterpret_cast<uintptr_t>(addr);
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &begin, &end) != 2 || at < begin || at >= end) continue;
    const size_t slash = line.find('/');
    return slash == std::string::npos ? std::string() : line.substr(slash);
  }
  return std::string();
}

// The absolute path of the library holding addr: dladdr's name, which is
// the path the library was opened by (relative to the working directory at
// that moment, which is now: this runs while the library loads), its folder
// resolved by realpath; /proc/self/maps when dladdr gives no folder.
std::string ResolvePath(const void* addr) {
  Dl_info info;
  std::string path;
  if (dladdr(addr, &info) != 0 && info.dli_fname != nullptr) path = info.dli_fname;
  if (path.find('/') == std::string::npos) path = MappedPath(addr);
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return std::string();
  const std::string folder = slash == 0 ? "/" : path.substr(0, slash);
  char resolved[PATH_MAX];
  if (realpath(folder.c_str(), resolved) == nullptr) return std::string();
  const std::string base = resolved;
  return (base == "/" ? "" : base) + path.substr(slash);
}

struct Copy {
  bool registers = true;
  std::string first;  // the first copy's path when this one does not register
};

const Copy& ThisCopy() {
  static const Copy copy = [] {
    Copy c;
    tensorflow::ops::GradFunc fn = nullptr;
    if (!tensorflow::ops::GradOpRegistry::Global()->Lookup(kMarkerOp, &fn).ok() || fn == nullptr) {
      return c;
    }
    Dl_info theirs, ours;
    if (dladdr(reinterpret_cast<void*>(fn), &theirs) != 0 &&
        dladdr(reinterpret_cast<void*>(&ThisCopy), &ours) != 0 && theirs.dli_fbase == ours.dli_fbase) {
      return c;  // our own registration (cannot happen first, but is ours)
    }
    c.registers = false;
    c.first = ResolvePath(reinterpret_cast<void*>(fn));
    if (c.first.empty()) c.first = "an unknown path";
    LOG(ERROR) << "gofocal: " << LibraryPath() << " registers no ops: this process already has "
               << "gofocal's ops from " << c.first << ". Load one copy of gofocal per process.";
    return c;
  }();
  return copy;
}

}  // namespace

const std::string& LibraryPath() {
  static const std::string path = ResolvePath(reinterpret_cast<void*>(&ResolvePath));
  return path;
}

const std::string& LibraryFolder() {
  static const std::string folder = [] {
    const std::string& path = LibraryPath();
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash == 0 ? 1 : slash);
  }();
  return folder;
}

bool RegistersOps() { return ThisCopy().registers; }

const std::string& FirstCopyPath() { return ThisCopy().first; }

bool RegisterKernel(const tensorflow::KernelDef* def, const char* class_name,
                    tensorflow::OpKernel* (*create)(tensorflow::OpKernelConstruction*)) {
  // The registrar's work is done in its constructor; TensorFlow's macro
  // keeps it no longer either.
  tensorflow::kernel_factory::OpKernelRegistrar registrar(def, class_name, create);
  (void)registrar;
  return true;
}

namespace {
// Both are settled while the library loads, before any registration uses
// them and before the process can change its working directory.
[[maybe_unused]] const bool kSettledAtLoad = (LibraryFolder(), RegistersOps(), true);
}  // namespace

}  // namespace gofocal

extern "C" const char* gofocal_ops_first_copy(void) {
  return gofocal::RegistersOps() ? nullptr : gofocal::FirstCopyPath().c_str();
}
