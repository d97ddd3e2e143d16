// What belongs to the op library as a whole rather than to one op: where the
// library was loaded from, and whether it is the process's first copy.
//
// A process can meet two copies of _gofocal_ops.so (an installed package and
// a source tree, two environments on one path). TensorFlow aborts the process
// when a second copy registers the same gradients, and kernels registered
// twice make every later call of the op fail, so a second copy registers
// nothing and says which copy got there first (see the GOFOCAL_REGISTER_*
// macros). Python's loader turns that into an ImportError naming both paths.
#ifndef GOFOCAL_TFOP_LIBRARY_LIBRARY_H_
#define GOFOCAL_TFOP_LIBRARY_LIBRARY_H_

#include <string>

#include "tensorflow/cc/framework/grad_op_registry.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"

namespace gofocal {

// The absolute path of this library's file, resolved once when it is loaded
// (so a later chdir cannot change it); empty if it could not be found.
const std::string& LibraryPath();

// The absolute folder of LibraryPath(), or empty.
const std::string& LibraryFolder();

// Whether this copy registers its ops, kernels and gradients: true unless
// another copy of the library has registered them in this process first.
bool RegistersOps();

// Registers a kernel (for GOFOCAL_REGISTER_KERNEL); returns true.
bool RegisterKernel(const tensorflow::KernelDef* def, const char* class_name,
                    tensorflow::OpKernel* (*create)(tensorflow::OpKernelConstruction*));

// The path of the copy that registered the ops first, when this copy does
// not (RegistersOps() is false); empty otherwise.
const std::string& FirstCopyPath();

}  // namespace gofocal

extern "C" {
// For Python's loader (ctypes): the path of the copy of _gofocal_ops.so that
// registered gofocal's ops before this one, or NULL when this one did.
const char* gofocal_ops_first_copy(void);
}

#define GOFOCAL_CONCAT_(a, b) a##b
#define GOFOCAL_CONCAT(a, b) GOFOCAL_CONCAT_(a, b)

// REGISTER_OP, only in the process's first copy of the library.
#define GOFOCAL_REGISTER_OP(name)                                                                    \
  static const ::tensorflow::InitOnStartupMarker GOFOCAL_CONCAT(gofocal_op_, __COUNTER__)          \
      TF_ATTRIBUTE_UNUSED = !::gofocal::RegistersOps()                                              \
                                ? ::tensorflow::InitOnStartupMarker{}                                \
                                : ::tensorflow::InitOnStartupMarker{}                                \
                                      << ::tensorflow::register_op::OpDefBuilderWrapper(name)

// REGISTER_KERNEL_BUILDER(builder, kernel class), only in the first copy;
// builder names register_kernel's builders unqualified, as there.
#define GOFOCAL_REGISTER_KERNEL(builder, ...)                                                        \
  static const bool GOFOCAL_CONCAT(gofocal_kernel_, __COUNTER__) TF_ATTRIBUTE_UNUSED =              \
      ::gofocal::RegistersOps() &&                                                                  \
      ::gofocal::RegisterKernel(::tensorflow::register_kernel::builder.Build(), #__VA_ARGS__,       \
                                [](::tensorflow::OpKernelConstruction* ctx) -> ::tensorflow::OpKernel* { \
                                  return new __VA_ARGS__(ctx);                                        \
                                })

// REGISTER_GRADIENT_OP, only in the first copy.
#define GOFOCAL_REGISTER_GRADIENT(name, fn)                                                          \
  static const bool GOFOCAL_CONCAT(gofocal_gradient_, __COUNTER__) TF_ATTRIBUTE_UNUSED =            \
      ::gofocal::RegistersOps() && ::tensorflow::ops::GradOpRegistry::Global()->Register(name, fn)

#endif  // GOFOCAL_TFOP_LIBRARY_LIBRARY_H_
