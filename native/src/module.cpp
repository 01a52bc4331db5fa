// core._native: the compiled kernels behind core/warp.py. One file per kernel;
// this one only assembles the module and its process-wide knobs.
#include "common.hpp"

namespace segue {
void register_warp(py::module_& m);
void register_splat(py::module_& m);
void register_blend(py::module_& m);
}  // namespace segue

PYBIND11_MODULE(_native, m) {
    namespace py = pybind11;
    using namespace segue;
    m.doc() = "Segue's native warp kernels. Use core.warp; core.warp_ref is the spec.";
    m.attr("EPS") = kEps;
    m.attr("METRIC_CLAMP") = kMetricClamp;

    m.def(
        "set_num_threads", [](int n) {
            if (n < 0) throw py::value_error("n must be >= 0 (0 = one per hardware thread)");
            g_num_threads.store(n, std::memory_order_relaxed);
        },
        py::arg("n"),
        "Cap the threads each kernel call may use; 0 (default) = hardware_concurrency. "
        "Process-wide; results never depend on it.");
    m.def("get_num_threads", &max_threads,
          "Threads a large kernel call will use (small images run serially).");

    register_warp(m);
    register_splat(m);
    register_blend(m);
}
