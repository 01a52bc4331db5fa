// warp_blend: fused two-sided backward warp + weighted blend at time t, and
// warp_blend_pair: the mean of two such blends (spec: core/warp_ref.py). Fusing
// avoids materialising the warped frames.
#include <cmath>
#include <string>

#include "sample.hpp"

namespace segue {
namespace {

void check_time(double t) {
    if (!(t >= 0.0 && t <= 1.0)) {  // also rejects NaN
        throw py::value_error("t must be within [0, 1]; got " + std::string(py::repr(py::float_(t))));
    }
}

struct BlendArgs {
    View img0, img1, flow0, flow1, w0, w1;
    double t;
};

template <int kC>
void blend_rows(const BlendArgs& s, float* out, Index y_begin, Index y_end) {
    const Index c = kC > 0 ? kC : s.img0.c;
    const Index w = s.img0.w, h = s.img0.h;
    for (Index y = y_begin; y < y_end; ++y) {
        for (Index x = 0; x < w; ++x) {
            const Index p = y * w + x;
            const Tap t0 = bilinear_tap(x, y, s.flow0.data[2 * p], s.flow0.data[2 * p + 1], w, h, c);
            const Tap t1 = bilinear_tap(x, y, s.flow1.data[2 * p], s.flow1.data[2 * p + 1], w, h, c);
            // alpha/beta = normalised weights; x/x == 1 exactly, which is what makes
            // t=0 (t=1) return img0 (img1) bit-exactly.
            const double u0 = (1.0 - s.t) * double(s.w0.data[p]);
            const double u1 = s.t * double(s.w1.data[p]);
            const double den = u0 + u1;
            const bool ok = den > kEps;
            const float alpha = float(ok ? u0 / den : 1.0 - s.t);
            const float beta = float(ok ? u1 / den : s.t);
            float* o = out + p * c;
            for (Index ch = 0; ch < c; ++ch) {
                o[ch] = alpha * sample(s.img0.data, t0, ch) + beta * sample(s.img1.data, t1, ch);
            }
        }
    }
}

py::array_t<float> warp_blend(const py::object& img0, const py::object& img1,
                              const py::object& flow_t0, const py::object& flow_t1,
                              const py::object& w0, const py::object& w1, double t) {
    check_time(t);
    BlendArgs s;
    s.img0 = check_image(img0, "img0");
    s.img1 = check_image(img1, "img1", s.img0.h, s.img0.w, s.img0.c);
    s.flow0 = check_flow(flow_t0, "flow_t0", s.img0.h, s.img0.w);
    s.flow1 = check_flow(flow_t1, "flow_t1", s.img0.h, s.img0.w);
    s.w0 = check_map(w0, "w0", s.img0.h, s.img0.w);
    s.w1 = check_map(w1, "w1", s.img0.h, s.img0.w);
    s.t = t;
    return fill_image_rows(s.img0.h, s.img0.w, s.img0.c, 2, [&](auto kc, float* dst, Index y0, Index y1) {
        blend_rows<decltype(kc)::value>(s, dst, y0, y1);
    });
}

struct PairArgs {
    View img0, img1, a0, a1, b0, b1;
    float alpha, beta;
};

template <int kC>
void pair_rows(const PairArgs& s, float* out, Index y_begin, Index y_end) {
    const Index c = kC > 0 ? kC : s.img0.c;
    const Index w = s.img0.w, h = s.img0.h;
    for (Index y = y_begin; y < y_end; ++y) {
        for (Index x = 0; x < w; ++x) {
            const Index p = y * w + x;
            const Tap ta0 = bilinear_tap(x, y, s.a0.data[2 * p], s.a0.data[2 * p + 1], w, h, c);
            const Tap ta1 = bilinear_tap(x, y, s.a1.data[2 * p], s.a1.data[2 * p + 1], w, h, c);
            const Tap tb0 = bilinear_tap(x, y, s.b0.data[2 * p], s.b0.data[2 * p + 1], w, h, c);
            const Tap tb1 = bilinear_tap(x, y, s.b1.data[2 * p], s.b1.data[2 * p + 1], w, h, c);
            float* o = out + p * c;
            for (Index ch = 0; ch < c; ++ch) {
                const float a = s.alpha * sample(s.img0.data, ta0, ch) + s.beta * sample(s.img1.data, ta1, ch);
                const float b = s.alpha * sample(s.img0.data, tb0, ch) + s.beta * sample(s.img1.data, tb1, ch);
                o[ch] = 0.5f * (a + b);
            }
        }
    }
}

py::array_t<float> warp_blend_pair(const py::object& img0, const py::object& img1,
                                   const py::object& flow_a0, const py::object& flow_a1,
                                   const py::object& flow_b0, const py::object& flow_b1, double t) {
    check_time(t);
    PairArgs s;
    s.img0 = check_image(img0, "img0");
    s.img1 = check_image(img1, "img1", s.img0.h, s.img0.w, s.img0.c);
    s.a0 = check_flow(flow_a0, "flow_a0", s.img0.h, s.img0.w);
    s.a1 = check_flow(flow_a1, "flow_a1", s.img0.h, s.img0.w);
    s.b0 = check_flow(flow_b0, "flow_b0", s.img0.h, s.img0.w);
    s.b1 = check_flow(flow_b1, "flow_b1", s.img0.h, s.img0.w);
    s.alpha = float(1.0 - t);
    s.beta = float(t);
    return fill_image_rows(s.img0.h, s.img0.w, s.img0.c, 4, [&](auto kc, float* dst, Index y0, Index y1) {
        pair_rows<decltype(kc)::value>(s, dst, y0, y1);
    });
}

}  // namespace

void register_blend(py::module_& m) {
    m.def("warp_blend_pair", &warp_blend_pair, py::arg("img0"), py::arg("img1"), py::arg("flow_a0"),
          py::arg("flow_a1"), py::arg("flow_b0"), py::arg("flow_b1"), py::arg("t"),
          R"doc(The mean of two unweighted two-sided warps and blends at time t in [0, 1].

img0, img1: (H, W, C) float32; flow_a0, flow_a1 and flow_b0, flow_b1: (H, W, 2)
float32, two estimates of the flows from the output frame into img0 / img1.
With alpha = float32(1 - t), beta = float32(t) and x_ij = backward_warp(img_j, flow_ij):
out = 0.5 * ((alpha x_a0 + beta x_a1) + (alpha x_b0 + beta x_b1)), in float32.
Exact equation: core.warp_ref.)doc");
    m.def("warp_blend", &warp_blend, py::arg("img0"), py::arg("img1"), py::arg("flow_t0"),
          py::arg("flow_t1"), py::arg("w0"), py::arg("w1"), py::arg("t"),
          R"doc(Fused two-sided backward warp and blend at time t in [0, 1].

img0, img1: (H, W, C) float32; flow_t0, flow_t1: (H, W, 2) float32 (dx, dy)
from the output frame into img0 / img1; w0, w1: (H, W) float32, >= 0.
a_i = backward_warp(img_i, flow_ti); out = ((1-t) w0 a0 + t w1 a1) / ((1-t) w0 + t w1),
or (1-t) a0 + t a1 where that denominator <= EPS. Exact equation: core.warp_ref.)doc");
}

}  // namespace segue
