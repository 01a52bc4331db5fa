// forward_splat: bilinear forward splatting, plain average or softmax-weighted
// (spec: core/warp_ref.py).
//
// Scatter without atomics, deterministically, in float64:
//  1. a stable counting sort of the source pixels by the row y0 = floor(ty) of
//     their target (two parallel passes over source-row chunks);
//  2. threads own bands of destination rows and walk them in tiles of a few rows.
//     The sources of tile rows [r0, r1) are one contiguous run of the sorted
//     list (y0 in [r0-1, r1-1]); they accumulate into a small cache-resident
//     float64 buffer that is then normalised into the outputs.
// Every destination pixel thus sums its contributions in one fixed order (by
// y0, then source row-major order) whatever the thread count. A full-frame
// float64 accumulator would cost more in page faults than the splat itself.
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "common.hpp"

namespace segue {
namespace {

// Destination rows per tile: 8 rows x 1920 px x 4 doubles = 480 KiB, fits L2.
constexpr Index kTileRows = 8;

struct SplatArgs {
    View img, flow;
    const float* metric;  // nullptr in average mode
};

struct Target {
    Index x0, y0;  // top-left neighbour, each >= -1
    double fx, fy;
};

// False when source (x, y) reaches no pixel (NaN/inf or beyond the borders) or
// its softmax metric is NaN. Must be the only place deciding this: the sort and
// the accumulation both call it and must agree.
inline bool locate(const SplatArgs& s, Index x, Index y, Target& t) {
    const Index w = s.img.w, p = y * w + x;
    const double tx = double(x) + double(s.flow.data[2 * p]);
    const double ty = double(y) + double(s.flow.data[2 * p + 1]);
    // Written so that NaN fails too; also keeps floor() within Index range.
    if (!(tx >= -1.0 && tx < double(w) && ty >= -1.0 && ty < double(s.img.h))) return false;
    if (s.metric != nullptr && std::isnan(s.metric[p])) return false;
    const double flx = std::floor(tx), fly = std::floor(ty);
    t = {Index(flx), Index(fly), tx - flx, ty - fly};
    return true;
}

// Adds source p's contributions to tile rows [r0, r1) of acc, which holds per
// pixel [weight, sum_0 .. sum_{C-1}].
template <int kC>
inline void accumulate(const SplatArgs& s, Index p, Index r0, Index r1, double* acc) {
    // 32-bit division: several times cheaper than 64-bit on common x86 cores.
    const Index w = s.img.w, y = Index(std::uint32_t(p) / std::uint32_t(w)), x = p - y * w;
    Target t;
    if (!locate(s, x, y, t)) return;  // cannot happen for sorted entries; kept for safety
    const double e = s.metric == nullptr
                         ? 1.0
                         : std::exp(std::clamp(double(s.metric[p]), -kMetricClamp, kMetricClamp));
    const double bil[4] = {(1.0 - t.fx) * (1.0 - t.fy), t.fx * (1.0 - t.fy),
                           (1.0 - t.fx) * t.fy, t.fx * t.fy};
    const Index c = kC > 0 ? kC : s.img.c;
    const float* v = s.img.data + p * c;
    for (int k = 0; k < 4; ++k) {
        const Index xi = t.x0 + (k & 1), yi = t.y0 + (k >> 1);
        if (yi < r0 || yi >= r1 || xi < 0 || xi >= w) continue;
        const double wt = bil[k] * e;
        double* a = acc + ((yi - r0) * w + xi) * (c + 1);
        a[0] += wt;
        for (Index ch = 0; ch < c; ++ch) a[1 + ch] += wt * double(v[ch]);
    }
}

// Source pixels grouped by key = y0 + 1 in [0, H], stable within a key.
struct SortedSources {
    std::unique_ptr<std::uint32_t[]> index;
    std::vector<Index> key_begin;  // H + 2 entries

    // Sources whose target can touch destination rows [r0, r1): y0 in [r0-1, r1-1].
    std::pair<const std::uint32_t*, const std::uint32_t*> touching(Index r0, Index r1) const {
        return {index.get() + key_begin[r0], index.get() + key_begin[r1 + 1]};
    }
};

SortedSources sort_by_target_row(const SplatArgs& s, int tasks) {
    const Index h = s.img.h, w = s.img.w, keys = h + 1;
    auto row_begin = [&](int k) { return h * k / tasks; };
    // Calls f(p, key) for each source of chunk k (source rows) that reaches a pixel.
    auto for_each_source = [&](int k, auto&& f) {
        Target t;
        for (Index y = row_begin(k); y < row_begin(k + 1); ++y) {
            for (Index x = 0; x < w; ++x) {
                if (locate(s, x, y, t)) f(y * w + x, t.y0 + 1);
            }
        }
    };
    std::vector<Index> count(std::size_t(tasks) * keys, 0);
    run_tasks(tasks, [&](int k) {
        Index* cnt = &count[std::size_t(k) * keys];
        for_each_source(k, [&](Index, Index key) { ++cnt[key]; });
    });
    // Key-major, chunk-minor offsets keep each key's sources in source order.
    SortedSources sorted;
    sorted.key_begin.assign(keys + 1, 0);
    Index total = 0;
    for (Index key = 0; key < keys; ++key) {
        sorted.key_begin[key] = total;
        for (int k = 0; k < tasks; ++k) {
            const Index n = count[std::size_t(k) * keys + key];
            count[std::size_t(k) * keys + key] = total;  // now the write cursor
            total += n;
        }
    }
    sorted.key_begin[keys] = total;
    sorted.index.reset(new std::uint32_t[std::max<Index>(total, 1)]);
    run_tasks(tasks, [&](int k) {
        Index* cursor = &count[std::size_t(k) * keys];
        std::uint32_t* out = sorted.index.get();
        for_each_source(k, [&](Index p, Index key) { out[cursor[key]++] = std::uint32_t(p); });
    });
    return sorted;
}

template <int kC>
void splat(const SplatArgs& s, float* out, float* weight) {
    const Index h = s.img.h, w = s.img.w, c = kC > 0 ? kC : s.img.c;
    const int tasks = threads_for(h, w * (c + 1));
    const SortedSources sorted = sort_by_target_row(s, tasks);
    const Index tile_size = std::min(kTileRows, h) * w * (c + 1);
    // Allocated here so that bad_alloc surfaces as MemoryError, not in a worker.
    std::vector<std::unique_ptr<double[]>> tiles(tasks);
    for (auto& tile : tiles) tile.reset(new double[tile_size]);

    run_tasks(tasks, [&](int b) {
        double* acc = tiles[b].get();
        for (Index r0 = h * b / tasks, band_end = h * (b + 1) / tasks; r0 < band_end;
             r0 += kTileRows) {
            const Index r1 = std::min(r0 + kTileRows, band_end), pixels = (r1 - r0) * w;
            std::fill(acc, acc + pixels * (c + 1), 0.0);
            const auto [first, last] = sorted.touching(r0, r1);
            for (const std::uint32_t* e = first; e != last; ++e) {
                accumulate<kC>(s, Index(*e), r0, r1, acc);
            }
            // out = sum / weight where weight > EPS, else 0; weight rounded to float32.
            float* o = out + r0 * w * c;
            float* wt = weight + r0 * w;
            for (Index i = 0; i < pixels; ++i) {
                const double* a = acc + i * (c + 1);
                wt[i] = float(a[0]);
                const bool filled = a[0] > kEps;
                for (Index ch = 0; ch < c; ++ch) o[i * c + ch] = filled ? float(a[1 + ch] / a[0]) : 0.0f;
            }
        }
    });
}

py::tuple forward_splat(const py::object& image, const py::object& flow,
                        const py::object& metric, const std::string& mode) {
    const bool softmax = mode == "softmax";
    if (!softmax && mode != "average") {
        throw py::value_error("mode must be 'average' or 'softmax'; got '" + mode + "'");
    }
    const View img = check_image(image, "image");
    const View fl = check_flow(flow, "flow", img.h, img.w);
    const float* m = nullptr;
    if (!metric.is_none()) {
        m = check_map(metric, "metric", img.h, img.w).data;
    } else if (softmax) {
        throw py::value_error("metric is required when mode='softmax': (H, W) float32 with H=" +
                              std::to_string(img.h) + ", W=" + std::to_string(img.w));
    }
    if (img.h * img.w > Index(std::numeric_limits<std::uint32_t>::max())) {
        throw py::value_error("image is too large for forward_splat: at most 2**32 - 1 pixels");
    }
    const SplatArgs args{img, fl, softmax ? m : nullptr};  // average mode ignores metric
    auto out = new_image(img.h, img.w, img.c);
    auto weight = new_map(img.h, img.w);
    float* o = out.mutable_data();
    float* wt = weight.mutable_data();
    {
        py::gil_scoped_release release;
        dispatch_channels(img.c, [&](auto kc) { splat<decltype(kc)::value>(args, o, wt); });
    }
    return py::make_tuple(out, weight);
}

}  // namespace

void register_splat(py::module_& m) {
    m.def("forward_splat", &forward_splat, py::arg("image"), py::arg("flow"),
          py::arg("metric") = py::none(), py::arg("mode") = "average",
          R"doc(Bilinear forward splatting; returns (out (H, W, C), weight (H, W)).

image: (H, W, C) float32; flow: (H, W, 2) float32 (dx, dy); metric: (H, W)
float32 or None (required for mode='softmax', ignored for 'average').
Source pixel p goes to p + flow(p), split bilinearly over the in-image
neighbours, times exp(clip(metric, -METRIC_CLAMP, METRIC_CLAMP)) in softmax mode.
Accumulates in float64; out = sum / weight where weight > EPS, else 0.
Deterministic and independent of the thread count. Exact equation: core.warp_ref.)doc");
}

}  // namespace segue
