/* Stand-in Edge TPU libraries for the tests: a shared library named like libedgetpu that exports
 * the two external-delegate entry points the TFLite runtime's load_delegate() looks up
 * (tensorflow/lite/delegates/external/external_delegate_interface.h), so the real load path runs.
 * This machine has no Coral; each build fails the way users report the real library failing.
 *
 * Built by tests/edgetpu_standin/build.py with one of:
 *   -DSTANDIN_WORKS         claims no node: the CPU computes the model behind the real delegate
 *   -DSTANDIN_SEGV_CREATE   segfaults when the delegate is created (the libedgetpu/runtime mismatch)
 *   -DSTANDIN_ABORT_INVOKE  claims the graph, aborts during invoke
 *   -DSTANDIN_HANG_INVOKE   claims the graph, never returns from invoke (a USB link that stalled)
 *   -DSTANDIN_ERROR_INVOKE  claims the graph, returns an error from invoke
 *
 * Only the leading fields of TfLite's C structs are declared; each struct is allocated or passed
 * with zeroed room after them, so a runtime whose struct has grown reads zeros (no optional hook).
 */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;
typedef struct { int size; int data[]; } TfLiteIntArray;
typedef struct TfLiteContext TfLiteContext;
typedef struct TfLiteDelegate TfLiteDelegate;
typedef struct TfLiteNode TfLiteNode;

typedef struct TfLiteRegistration {
  void *(*init)(TfLiteContext *, const char *, size_t);
  void (*free)(TfLiteContext *, void *);
  TfLiteStatus (*prepare)(TfLiteContext *, TfLiteNode *);
  TfLiteStatus (*invoke)(TfLiteContext *, TfLiteNode *);
  const char *(*profiling_string)(const TfLiteContext *, const TfLiteNode *);
  int32_t builtin_code;
  const char *custom_name;
  int version;
  void *room[16]; /* later runtimes' fields, all zero */
} TfLiteRegistration;

struct TfLiteContext {
  size_t tensors_size;
  TfLiteStatus (*GetExecutionPlan)(TfLiteContext *, TfLiteIntArray **);
  void *tensors;
  void *impl_;
  void *ResizeTensor;
  void *ReportError;
  void *AddTensors;
  void *GetNodeAndRegistration;
  TfLiteStatus (*ReplaceNodeSubsetsWithDelegateKernels)(TfLiteContext *, TfLiteRegistration,
                                                        const TfLiteIntArray *, TfLiteDelegate *);
};

struct TfLiteDelegate {
  void *data_;
  TfLiteStatus (*Prepare)(TfLiteContext *, TfLiteDelegate *);
  void *CopyFromBufferHandle;
  void *CopyToBufferHandle;
  void *FreeBufferHandle;
  int64_t flags;
  void *room[16]; /* opaque_delegate_builder and whatever follows: zero */
};

enum { kTfLiteBuiltinDelegate = 51 };

static TfLiteStatus kernel_invoke(TfLiteContext *context, TfLiteNode *node) {
  (void)context;
  (void)node;
#if defined(STANDIN_ABORT_INVOKE)
  abort();
#elif defined(STANDIN_HANG_INVOKE)
  for (;;) pause();
#endif
  return kTfLiteError; /* STANDIN_ERROR_INVOKE */
}

static TfLiteStatus delegate_prepare(TfLiteContext *context, TfLiteDelegate *delegate) {
#if defined(STANDIN_WORKS)
  (void)context;
  (void)delegate;
  return kTfLiteOk; /* claims nothing: every node stays on the CPU */
#else
  TfLiteIntArray *plan = NULL;
  if (context->GetExecutionPlan(context, &plan) != kTfLiteOk) return kTfLiteError;
  TfLiteRegistration kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.invoke = kernel_invoke;
  kernel.builtin_code = kTfLiteBuiltinDelegate;
  kernel.custom_name = "silvergym-edgetpu-standin";
  kernel.version = 1;
  return context->ReplaceNodeSubsetsWithDelegateKernels(context, kernel, plan, delegate);
#endif
}

TfLiteDelegate *tflite_plugin_create_delegate(char **keys, char **values, size_t count,
                                              void (*report_error)(const char *)) {
  (void)keys;
  (void)values;
  (void)count;
  (void)report_error;
#if defined(STANDIN_SEGV_CREATE)
  raise(SIGSEGV); /* what a libedgetpu built for another TensorFlow does here */
#endif
  TfLiteDelegate *delegate = calloc(1, sizeof *delegate);
  if (delegate != NULL) delegate->Prepare = delegate_prepare;
  return delegate;
}

void tflite_plugin_destroy_delegate(TfLiteDelegate *delegate) { free(delegate); }
