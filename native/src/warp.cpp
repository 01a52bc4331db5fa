// backward_warp: bilinear, clamp-to-edge backward warping (spec: core/warp_ref.py).
#include "sample.hpp"

namespace segue {
namespace {

template <int kC>
void warp_rows(const View& img, const View& flow, float* out, Index y_begin, Index y_end) {
    const Index c = kC > 0 ? kC : img.c;
    for (Index y = y_begin; y < y_end; ++y) {
        for (Index x = 0; x < img.w; ++x) {
            const Index p = y * img.w + x;
            const Tap t = bilinear_tap(x, y, flow.data[2 * p], flow.data[2 * p + 1], img.w, img.h, c);
            float* o = out + p * c;
            for (Index ch = 0; ch < c; ++ch) o[ch] = sample(img.data, t, ch);
        }
    }
}

py::array_t<float> backward_warp(const py::object& image, const py::object& flow) {
    const View img = check_image(image, "image");
    const View fl = check_flow(flow, "flow", img.h, img.w);
    return fill_image_rows(img.h, img.w, img.c, 1, [&](auto kc, float* dst, Index y0, Index y1) {
        warp_rows<decltype(kc)::value>(img, fl, dst, y0, y1);
    });
}

}  // namespace

void register_warp(py::module_& m) {
    m.def("backward_warp", &backward_warp, py::arg("image"), py::arg("flow"),
          R"doc(Bilinear backward warp with clamp-to-edge borders.

image: (H, W, C) float32, C-contiguous, C >= 1.
flow: (H, W, 2) float32, C-contiguous, channels (dx, dy).
Returns (H, W, C) float32: out[y, x] = image sampled at (x + dx, y + dy), the
coordinates clamped to [0, W-1] x [0, H-1]. Exact equation: core.warp_ref.)doc");
}

}  // namespace segue
