// Bilinear backward sampling shared by warp.cpp and blend.cpp, so that
// warp_blend's warped frames are bit-identical to backward_warp's.
#pragma once

#include <cmath>

#include "common.hpp"

namespace segue {

// Element offsets (pixel index * C) of the 4 neighbours and their weights:
// a = (x0, y0), b = (x1, y0), c = (x0, y1), d = (x1, y1).
struct Tap {
    Index a, b, c, d;
    float wa, wb, wc, wd;
};

// Clamp-to-edge; written with comparisons so that -inf lands on 0 and +inf on hi.
inline double clamp_coord(double v, double hi) { return v > 0.0 ? (v < hi ? v : hi) : 0.0; }

// Coordinates and weights in double, weights rounded once to float32; see
// core/warp_ref.py:backward_warp for the equation. NaN displacements count as 0.
inline Tap bilinear_tap(Index x, Index y, float dx, float dy, Index w, Index h, Index channels) {
    const double sx = clamp_coord(double(x) + (std::isnan(dx) ? 0.0 : double(dx)), double(w - 1));
    const double sy = clamp_coord(double(y) + (std::isnan(dy) ? 0.0 : double(dy)), double(h - 1));
    const Index x0 = Index(sx);  // sx >= 0, so truncation is floor
    const Index y0 = Index(sy);
    const double fx = sx - double(x0);
    const double fy = sy - double(y0);
    const Index x1 = x0 < w - 1 ? x0 + 1 : x0;
    const Index y1 = y0 < h - 1 ? y0 + 1 : y0;
    return {(y0 * w + x0) * channels,
            (y0 * w + x1) * channels,
            (y1 * w + x0) * channels,
            (y1 * w + x1) * channels,
            float((1.0 - fx) * (1.0 - fy)),
            float(fx * (1.0 - fy)),
            float((1.0 - fx) * fy),
            float(fx * fy)};
}

// Sum in the reference's order ((a + b) + c) + d; -ffp-contract=off keeps it exact.
inline float sample(const float* img, const Tap& t, Index ch) {
    return t.wa * img[t.a + ch] + t.wb * img[t.b + ch] + t.wc * img[t.c + ch] +
           t.wd * img[t.d + ch];
}

}  // namespace segue
