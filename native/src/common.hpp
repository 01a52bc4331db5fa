// Shared pieces of the _native kernels: constants of the spec, argument checks
// and a row-chunk parallel-for. The exact equations live in core/warp_ref.py.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace segue {

namespace py = pybind11;
using Index = std::ptrdiff_t;

// Must equal core/warp_ref.py (a test checks): weights at or below EPS only
// guard 0/0; EPS sits far below exp(-METRIC_CLAMP) so softmax never makes holes.
inline constexpr double kEps = 1e-30;
// exp(50) * (number of pixels) stays far inside float32 range for the weight map.
inline constexpr double kMetricClamp = 50.0;

// ---------------------------------------------------------------- checks

// A validated, read-only view of a C-contiguous float32 array (GIL-free use).
struct View {
    const float* data;
    Index h, w, c;  // c == 1 for (H, W) maps
};

inline std::string shape_str(const py::array& a) {
    std::string s = "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) {
        s += (i ? ", " : "") + std::to_string(a.shape(i));
    }
    return s + (a.ndim() == 1 ? ",)" : ")");
}

inline std::string describe(const py::array& a) {
    std::string strides = "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) {
        strides += (i ? ", " : "") + std::to_string(a.strides(i));
    }
    strides += (a.ndim() == 1 ? ",)" : ")");
    return "got shape " + shape_str(a) + ", dtype " + std::string(py::str(a.dtype())) +
           ", strides " + strides;
}

// Raises TypeError/ValueError naming `name`. `want` is the expected layout in
// words, e.g. "(H, W, 2) with H=1080, W=1920". Never copies: a silent copy would
// hide a 2x memory cost from callers holding views.
inline py::array require_f32(const py::handle& obj, const char* name, const std::string& want) {
    const std::string what = std::string(name) + " must be a C-contiguous float32 array " + want;
    if (!py::isinstance<py::array>(obj)) {
        throw py::type_error(what + "; got " + std::string(py::str(py::type::of(obj))));
    }
    auto a = py::reinterpret_borrow<py::array>(obj);
    if (!py::isinstance<py::array_t<float>>(a)) {  // also rejects byte-swapped float32
        throw py::type_error(what + "; " + describe(a));
    }
    const bool contiguous = (a.flags() & py::array::c_style) != 0;
    const bool aligned = (a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_) != 0;
    if (!contiguous || !aligned) {
        throw py::value_error(what + " (use np.ascontiguousarray); " + describe(a));
    }
    return a;
}

inline void fail_shape(const char* name, const std::string& want, const py::array& a) {
    throw py::value_error(std::string(name) + " must be a C-contiguous float32 array " + want +
                          "; " + describe(a));
}

// (H, W, C) image with H, W, C >= 1; C must equal `channels` when it is > 0.
inline View check_image(const py::handle& obj, const char* name, Index h = 0, Index w = 0,
                        Index channels = 0) {
    std::string want = "(H, W, C)";
    if (h > 0) {
        want = "(H, W, C) with H=" + std::to_string(h) + ", W=" + std::to_string(w) +
               (channels > 0 ? ", C=" + std::to_string(channels) : "");
    }
    py::array a = require_f32(obj, name, want);
    if (a.ndim() != 3 || a.shape(0) < 1 || a.shape(1) < 1 || a.shape(2) < 1 ||
        (h > 0 && (a.shape(0) != h || a.shape(1) != w)) ||
        (channels > 0 && a.shape(2) != channels)) {
        fail_shape(name, want + " and no empty axis", a);
    }
    return {static_cast<const float*>(a.data()), a.shape(0), a.shape(1), a.shape(2)};
}

// (H, W, 2) flow holding (dx, dy) per pixel.
inline View check_flow(const py::handle& obj, const char* name, Index h, Index w) {
    const std::string want =
        "(H, W, 2) of (dx, dy) with H=" + std::to_string(h) + ", W=" + std::to_string(w);
    py::array a = require_f32(obj, name, want);
    if (a.ndim() != 3 || a.shape(0) != h || a.shape(1) != w || a.shape(2) != 2) {
        fail_shape(name, want, a);
    }
    return {static_cast<const float*>(a.data()), h, w, 2};
}

// (H, W) per-pixel scalar map (weights, metric).
inline View check_map(const py::handle& obj, const char* name, Index h, Index w) {
    const std::string want = "(H, W) with H=" + std::to_string(h) + ", W=" + std::to_string(w);
    py::array a = require_f32(obj, name, want);
    if (a.ndim() != 2 || a.shape(0) != h || a.shape(1) != w) {
        fail_shape(name, want, a);
    }
    return {static_cast<const float*>(a.data()), h, w, 1};
}

// ---------------------------------------------------------------- threads

// 0 = one thread per hardware thread. Settable from Python for tests/tuning.
inline std::atomic<int> g_num_threads{0};

inline int max_threads() {
    const int requested = g_num_threads.load(std::memory_order_relaxed);
    if (requested > 0) return requested;
    return std::max(1u, std::thread::hardware_concurrency());
}

// Below this many element-operations per thread, spawning costs more than it saves.
inline constexpr Index kMinWorkPerThread = Index(1) << 15;

inline int threads_for(Index items, Index work_per_item) {
    const Index by_work = std::max<Index>(1, items * work_per_item / kMinWorkPerThread);
    return int(std::max<Index>(1, std::min<Index>({Index(max_threads()), items, by_work})));
}

// Runs body(task) for task in [0, tasks) with one thread per task; the calling
// thread takes task 0. Bodies must not throw. If a thread cannot be spawned, its
// task runs on the caller so the result never depends on thread availability.
template <class Body>
void run_tasks(int tasks, Body&& body) {
    std::vector<std::thread> pool;
    pool.reserve(tasks > 1 ? tasks - 1 : 0);
    int spawned = 1;
    try {
        for (; spawned < tasks; ++spawned) pool.emplace_back([&body, spawned] { body(spawned); });
    } catch (...) {
        // Resource exhaustion: fall through and do the rest here.
    }
    body(0);
    for (int t = spawned; t < tasks; ++t) body(t);
    for (auto& th : pool) th.join();
}

// Splits [0, n) into contiguous chunks, one per thread: body(begin, end).
template <class Body>
void parallel_for(Index n, Index work_per_item, Body&& body) {
    const int tasks = threads_for(n, work_per_item);
    run_tasks(tasks, [&](int t) { body(n * t / tasks, n * (t + 1) / tasks); });
}

// Calls f(std::integral_constant<int, K>) with K = c for c in 1..4, else K = 0,
// so the per-channel loops of the common cases get fully unrolled.
template <class F>
void dispatch_channels(Index c, F&& f) {
    switch (c) {
        case 1: f(std::integral_constant<int, 1>{}); break;
        case 2: f(std::integral_constant<int, 2>{}); break;
        case 3: f(std::integral_constant<int, 3>{}); break;
        case 4: f(std::integral_constant<int, 4>{}); break;
        default: f(std::integral_constant<int, 0>{}); break;
    }
}

inline py::array_t<float> new_image(Index h, Index w, Index c) {
    return py::array_t<float>({py::ssize_t(h), py::ssize_t(w), py::ssize_t(c)});
}

inline py::array_t<float> new_map(Index h, Index w) {
    return py::array_t<float>({py::ssize_t(h), py::ssize_t(w)});
}

// A new (h, w, c) image whose rows are filled on the worker threads without the GIL:
// rows(kc, out, y_begin, y_end), kc the channel count as dispatch_channels passes it.
// cost: the work of one pixel's channel, relative to one bilinear sample.
template <class Rows>
py::array_t<float> fill_image_rows(Index h, Index w, Index c, Index cost, Rows&& rows) {
    auto out = new_image(h, w, c);
    float* dst = out.mutable_data();
    {
        py::gil_scoped_release release;
        dispatch_channels(c, [&](auto kc) {
            parallel_for(h, cost * w * c, [&](Index y0, Index y1) { rows(kc, dst, y0, y1); });
        });
    }
    return out;
}

}  // namespace segue
