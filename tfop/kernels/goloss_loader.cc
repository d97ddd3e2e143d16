#include "goloss_loader.h"

#include <dlfcn.h>

#include <string>
#include <type_traits>

#include "library/library.h"
#include "tensorflow/core/platform/errors.h"

namespace gofocal {
namespace {

constexpr char kLibrary[] = "libgoloss.so";

// Reads every symbol from handle; returns false when one is missing.
bool Resolve(void* handle, GolossApi* api, std::string* missing) {
  auto get = [&](const char* name, auto* fn) {
    void* sym = dlsym(handle, name);
    if (sym == nullptr) {
      if (missing->empty()) *missing = name;
      return false;
    }
    *fn = reinterpret_cast<std::remove_pointer_t<decltype(fn)>>(sym);
    return true;
  };
  using AbiVersion = decltype(&goloss_abi_version);
  AbiVersion abi_version = nullptr;
  bool ok = get("goloss_abi_version", &abi_version);
  ok = get("goloss_seed_f32", &api->seed_f32) && ok;
  ok = get("goloss_seed_f64", &api->seed_f64) && ok;
  ok = get("goloss_binary_f32", &api->binary_f32) && ok;
  ok = get("goloss_binary_f64", &api->binary_f64) && ok;
  ok = get("goloss_asymmetric_f32", &api->asymmetric_f32) && ok;
  ok = get("goloss_asymmetric_f64", &api->asymmetric_f64) && ok;
  ok = get("goloss_process_check", &api->process_check) && ok;
  if (ok && abi_version() != GOLOSS_ABI_VERSION) {
    *missing = "ABI version " + std::to_string(GOLOSS_ABI_VERSION) + " (the library has " +
               std::to_string(abi_version()) + ")";
    return false;
  }
  return ok;
}

tensorflow::Status Load(GolossApi* api) {
  std::string missing;
  // A Go program that imports gofocal's capi package exports the kernels.
  if (dlsym(RTLD_DEFAULT, "goloss_seed_f32") != nullptr) {
    if (Resolve(RTLD_DEFAULT, api, &missing)) {
      api->source = "process";
      return absl::OkStatus();
    }
    return tensorflow::errors::FailedPrecondition(
        "gofocal: the process exports goloss kernels, but not ", missing);
  }
  // Only ever the file beside this library, by the absolute path resolved
  // when it loaded: never a search, never the working directory.
  const std::string& folder = LibraryFolder();
  if (folder.empty()) {
    return tensorflow::errors::FailedPrecondition(
        "gofocal: cannot tell which folder the op library was loaded from, so it does not know "
        "where its ", kLibrary, " is");
  }
  const std::string path = (folder == "/" ? "" : folder) + "/" + kLibrary;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return tensorflow::errors::NotFound("gofocal: cannot load the loss kernels from ", path, ": ",
                                        why != nullptr ? why : "unknown error",
                                        ". Build them with `make shared-lib`.");
  }
  if (!Resolve(handle, api, &missing)) {
    dlclose(handle);
    return tensorflow::errors::FailedPrecondition("gofocal: ", path, " lacks ", missing,
                                                  "; rebuild it with `make shared-lib`.");
  }
  api->source = path;
  return absl::OkStatus();
}

}  // namespace

tensorflow::Status GetGolossApi(const GolossApi** api) {
  static GolossApi loaded;
  static const tensorflow::Status status = Load(&loaded);
  *api = &loaded;
  return status;
}

}  // namespace gofocal
