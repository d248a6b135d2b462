// mathx.glsl - accurate elementary functions the GLSL built-ins do not guarantee.

// log(1 + t) for t >= 0, accurate to a few ulp on any conformant device. GLSL's log() need only
// be within 2^-21 absolute on [0.5, 2], which is a large relative error for a loss near zero
// (a confident, correct prediction), and s = 1 + t would round t away anyway. Uses
// log(f 2^e) = e ln2 + 2 atanh((f - 1) / (f + 1)) with f in [sqrt(1/2), sqrt(2)), so
// |w| <= 0.172 and the atanh series below is exact to < 2^-30 relative.
float log1p_pos(float t)
{
    float w;
    int e = 0;
    if (t < 0.41421356) {
        w = t / (2.0 + t); // (f - 1) / (f + 1) with f = 1 + t, without rounding 1 + t
    } else {
        float f = frexp(1.0 + t, e); // f in [0.5, 1); log(1 + t) >= 0.34, so 1 + t may round
        if (f < 0.70710678) {
            f *= 2.0;
            e -= 1;
        }
        w = (f - 1.0) / (f + 1.0); // f - 1 is exact (Sterbenz)
    }
    float w2 = w * w;
    float series = 1.0 + w2 * (1.0 / 3.0 + w2 * (1.0 / 5.0 + w2 * (1.0 / 7.0 +
                   w2 * (1.0 / 9.0 + w2 * (1.0 / 11.0)))));
    return float(e) * 0.69314718 + 2.0 * w * series;
}

