// Finds the goloss C ABI at run time, without linking libgoloss.so: a process
// holds one Go runtime at most, so the op must use the kernels of a Go
// program it runs in, and only otherwise load libgoloss.so beside itself.
#ifndef GOFOCAL_TFOP_KERNELS_GOLOSS_LOADER_H_
#define GOFOCAL_TFOP_KERNELS_GOLOSS_LOADER_H_

#include <string>

#include "goloss.h"
#include "tensorflow/core/platform/status.h"

namespace gofocal {

// The functions of goloss.h that the kernels call.
struct GolossApi {
  decltype(&goloss_seed_f32) seed_f32 = nullptr;
  decltype(&goloss_seed_f64) seed_f64 = nullptr;
  decltype(&goloss_binary_f32) binary_f32 = nullptr;
  decltype(&goloss_binary_f64) binary_f64 = nullptr;
  decltype(&goloss_asymmetric_f32) asymmetric_f32 = nullptr;
  decltype(&goloss_asymmetric_f64) asymmetric_f64 = nullptr;
  // GOLOSS_ERR_PROCESS in a child forked after the library loaded, where
  // the Go runtime cannot run: checked before work is split over threads.
  decltype(&goloss_process_check) process_check = nullptr;
  // Where the functions were found: "process" or the path of libgoloss.so.
  std::string source;
};

// Resolves the API once per process (thread-safe) and returns it, or an error
// that says where it looked.
tensorflow::Status GetGolossApi(const GolossApi** api);

}  // namespace gofocal

#endif  // GOFOCAL_TFOP_KERNELS_GOLOSS_LOADER_H_
