/* vn_math.c — freestanding elementary functions: exp, expm1, log, log1p,
 * tanh, erf and sqrt in float and double, with no libc or libm.
 *
 * Conventions
 *   Round-to-nearest is assumed (IEEE binary32/binary64, no excess
 *   precision). Floating-point bits are read and written through unions.
 *   Special values follow C99 Annex F: NaN in gives NaN out; exp(-inf) = +0,
 *   log(±0) = -inf, log(x < 0) = NaN, log1p(-1) = -inf, sqrt(x < 0) = NaN;
 *   the sign of zero is kept by expm1, log1p, tanh, erf and sqrt. Special
 *   inputs are caught by one or two compares in front of the main path.
 *
 * Methods
 *   exp:   x = k ln2/128 + r with k = round(128 x / ln2) (found by adding and
 *          subtracting 1.5*2^52), r = (x - k C1) - k C2 where C1 holds the top
 *          35 bits of ln2/128, so k C1 and x - k C1 are exact. Then
 *          exp(x) = 2^(k>>7) T[k&127] (1 + p(r)), |r| <= ln2/256, with
 *          T[j] = 2^(j/128) stored as a double plus a relative correction and
 *          p a degree-5 polynomial for expm1(r) (absolute error < 2^-62). The
 *          power of two is added straight into the exponent bits. For
 *          |x| >= 512 the scale is split so that it stays normal; a subnormal
 *          result is rounded once, directly onto the subnormal grid (by
 *          adding 1 in scaled units), never first to 53 bits.
 *   log:   x = 2^e m, m in [0.6875, 1.375); the top 7 bits of m pick c ~ 1/m
 *          (20 significant bits) and -log(c) (a double-double). With m split
 *          as mh + ml (mh = m with its low 20 bits cleared) the reduced
 *          argument r = m c - 1 is (mh c - 1) + ml c, where mh c - 1 is exact.
 *          log(x) = e ln2 - log(c) + log1p(r), |r| <= 2^-7, where the large
 *          terms are added exactly (the high parts of ln2 and -log(c) are
 *          multiples of 2^-42) and log1p(r) - r is a degree-8 polynomial.
 *          Near 1 (x in [1 - 2^-8, 1 + 2^-7)) r = x - 1 is exact and used
 *          directly. Subnormal inputs are scaled by 2^52 first.
 *   log1p: for x in [-2^-8, 2^-7) the polynomial is applied to x itself;
 *          otherwise 1 + x is formed exactly as hi + lo (two-sum) and the log
 *          reduction is applied to hi with lo folded into the reduced argument.
 *   expm1: a degree-9 polynomial for |x| < 2^-5; otherwise the exp reduction,
 *          with 2^(k/128) - 1 formed exactly by a two-sum and the small part
 *          added last; exp(x) beyond 40, -1 below -40.
 *   tanh:  tanh|x| = e / (e + 2) with e = expm1(2|x|) carried as a
 *          double-double and the quotient corrected once with the residual
 *          e - q (e + 2), computed exactly from products of operands split by
 *          masking bits.
 *   erf:   |x| < 1/2: erf(x) = x + x C1 + x Q(x^2), a degree-9 polynomial in
 *          x^2, with x C1 (C1 = 2/sqrt(pi) - 1) formed nearly exactly.
 *          1/2 <= |x| < 2: erf(c + t) = a0 + a1 t + t^2 P(t) on six intervals
 *          of width 1/4 (|t| <= 1/8), a0 double-double and a1 t nearly exact.
 *          2 <= |x| < 6: erf = 1 - exp(-x^2) R(x), x^2 formed exactly as a sum
 *          of two doubles and fed to the exp reduction, R(x) = exp(x^2)
 *          erfc(x) a degree-13 polynomial on each of eight intervals of width
 *          1/2. |x| >= 6: ±1. Subnormal results are rounded once.
 *   sqrt:  a 128-entry table seed for 1/sqrt(m) (2^-8), three Newton steps in
 *          double (two for float), then exact integer arithmetic: with N the
 *          scaled significand, S the candidate root and R = N - S^2 computed
 *          modulo 2^64 (exact, since |R| is known to be small), one integer
 *          Newton correction and a final test R > S / R <= -S give the
 *          correctly rounded root. No division, no data-dependent loop.
 *   float: every float function computes in double and rounds once at the
 *          end. expf, logf and tanhf have their own lower-degree polynomials
 *          (relative error of the double intermediate below 2^-34); expm1f,
 *          log1pf and erff round the double functions' results. A double
 *          intermediate within 2^-34 relative gives a float result within
 *          0.5 + 2^-10 ULP.
 *
 * Accuracy (maximum error in ULPs of the result; below the normal range in
 * ULPs of the smallest subnormal)
 *   function   double   float      function   double   float
 *   exp        0.52     0.51       tanh       0.65     0.51
 *   expm1      0.65     0.51       erf        0.8      0.51
 *   log        0.52     0.51       sqrt       0.5      0.5  (correctly rounded)
 *   log1p      0.55     0.51
 *   The approximation errors (printed by tools/fit_math.py) are far below
 *   the rounding errors, so these bounds come from a rounding analysis of
 *   each evaluation; tests/test_math.c confirms them on dense sweeps against
 *   the host libm (long double for the double functions). Every step that is
 *   meant to be exact multiplies operands with few enough bits that the
 *   product is exact, so the bounds hold with or without FMA
 *   contraction (-ffp-contract=fast or off, with or without -march=native).
 *
 * Coefficients
 *   Every table and polynomial coefficient below was produced by
 *   tools/fit_math.py (mpmath at 60 digits; Remez minimax fits with the
 *   coefficients rounded to nearest double; the script also prints the
 *   measured error of the rounded polynomials, kept in the comments). */
#include "vn_math.h"

typedef union {
    double d;
    uint64_t u;
} vn_bits64;

typedef union {
    float f;
    uint32_t u;
} vn_bits32;

static inline uint64_t asu64(double x) {
    vn_bits64 v;
    v.d = x;
    return v.u;
}
static inline double asf64(uint64_t u) {
    vn_bits64 v;
    v.u = u;
    return v.d;
}
static inline uint32_t asu32(float x) {
    vn_bits32 v;
    v.f = x;
    return v.u;
}
static inline float asf32(uint32_t u) {
    vn_bits32 v;
    v.u = u;
    return v.f;
}

/* ---- generated by tools/fit_math.py ---- */
/* 2^(j/128) = exp_tab[2j] * (1 + exp_tab[2j+1]), j = 0..127 */
static const double exp_tab[256] = {
    0x1p+0, 0x0p+0,
    0x1.0163da9fb3335p+0, 0x1.b3b4f1a88bf6ep-54,
    0x1.02c9a3e778061p+0, -0x1.160139cd8dc5dp-56,
    0x1.04315e86e7f85p+0, -0x1.05e7a108766d1p-54,
    0x1.059b0d3158574p+0, 0x1.cd2523567f613p-55,
    0x1.0706b29ddf6dep+0, -0x1.bce8023f98efap-55,
    0x1.0874518759bc8p+0, 0x1.0f74e61e6c861p-57,
    0x1.09e3ecac6f383p+0, 0x1.0a3e45b33d399p-54,
    0x1.0b5586cf9890fp+0, 0x1.79aa65d837b6dp-54,
    0x1.0cc922b7247f7p+0, 0x1.eb51a92fdeffcp-55,
    0x1.0e3ec32d3d1a2p+0, 0x1.ebe3d702f9cd1p-60,
    0x1.0fb66affed31bp+0, -0x1.a033489906e0bp-57,
    0x1.11301d0125b51p+0, -0x1.556522a2fbd0ep-54,
    0x1.12abdc06c31ccp+0, -0x1.080ef8c4eea55p-58,
    0x1.1429aaea92dep+0, -0x1.1c923b9d5f416p-54,
    0x1.15a98c8a58e51p+0, 0x1.0d3e3e95c55afp-55,
    0x1.172b83c7d517bp+0, -0x1.01b15eaa59348p-55,
    0x1.18af9388c8deap+0, -0x1.f1ff055de323dp-55,
    0x1.1a35beb6fcb75p+0, 0x1.b898c3f1353bfp-55,
    0x1.1bbe084045cd4p+0, -0x1.6d99c7611eb26p-54,
    0x1.1d4873168b9aap+0, 0x1.aecf73e3a2f6p-54,
    0x1.1ed5022fcd91dp+0, -0x1.fe782cb86389dp-55,
    0x1.2063b88628cd6p+0, 0x1.a6f4144a6c38dp-55,
    0x1.21f49917ddc96p+0, 0x1.07a05b0e4047dp-55,
    0x1.2387a6e756238p+0, 0x1.68efde3a8a894p-54,
    0x1.251ce4fb2a63fp+0, 0x1.75e18f274487dp-55,
    0x1.26b4565e27cddp+0, 0x1.0472b981fe7f2p-55,
    0x1.284dfe1f56381p+0, -0x1.6b87b3f71085ep-54,
    0x1.29e9df51fdee1p+0, 0x1.2f7e16d09ab31p-55,
    0x1.2b87fd0dad99p+0, -0x1.d219b1a6fbffap-60,
    0x1.2d285a6e4030bp+0, 0x1.b3782720c0ab4p-55,
    0x1.2ecafa93e2f56p+0, 0x1.e149289cecb8fp-57,
    0x1.306fe0a31b715p+0, 0x1.34d754db0abb6p-55,
    0x1.32170fc4cd831p+0, 0x1.64201e2ac744cp-55,
    0x1.33c08b26416ffp+0, 0x1.fdd395dd3f84ap-55,
    0x1.356c55f929ff1p+0, -0x1.6a3803b8e5b04p-55,
    0x1.371a7373aa9cbp+0, -0x1.24aedcc4b5068p-54,
    0x1.38cae6d05d866p+0, -0x1.907f81b512d8ep-54,
    0x1.3a7db34e59ff7p+0, -0x1.1d1e83e9436d2p-56,
    0x1.3c32dc313a8e5p+0, -0x1.91919b3ce1b15p-54,
    0x1.3dea64c123422p+0, 0x1.59f48a72a4c6dp-55,
    0x1.3fa4504ac801cp+0, -0x1.312607a28698ap-54,
    0x1.4160a21f72e2ap+0, -0x1.8a78f4817895bp-58,
    0x1.431f5d950a897p+0, -0x1.c2c9b67499a1bp-56,
    0x1.44e086061892dp+0, 0x1.363ed60c2ac11p-59,
    0x1.46a41ed1d0057p+0, 0x1.666093b0664efp-54,
    0x1.486a2b5c13cdp+0, 0x1.ecce1daa10379p-57,
    0x1.4a32af0d7d3dep+0, 0x1.3ff8e3f0f123p-54,
    0x1.4bfdad5362a27p+0, 0x1.690cebb7aafbp-56,
    0x1.4dcb299fddd0dp+0, 0x1.31dbdeb54e077p-54,
    0x1.4f9b2769d2ca7p+0, -0x1.f94340071a38ep-55,
    0x1.516daa2cf6642p+0, -0x1.7deccdc93a349p-55,
    0x1.5342b569d4f82p+0, -0x1.8dec6bd0f385fp-56,
    0x1.551a4ca5d920fp+0, -0x1.61246ec7b5cf6p-55,
    0x1.56f4736b527dap+0, 0x1.3350518fdd78ep-54,
    0x1.58d12d497c7fdp+0, 0x1.b98b72f8a9b05p-56,
    0x1.5ab07dd485429p+0, 0x1.063e1e21c5409p-54,
    0x1.5c9268a5946b7p+0, 0x1.4c7855019c6eap-60,
    0x1.5e76f15ad2148p+0, 0x1.432e62b64c035p-54,
    0x1.605e1b976dc09p+0, -0x1.ce44a6199769fp-55,
    0x1.6247eb03a5585p+0, -0x1.c33c53bef4da8p-55,
    0x1.6434634ccc32p+0, -0x1.45378892be9aep-55,
    0x1.6623882552225p+0, -0x1.3cedd78565858p-54,
    0x1.68155d44ca973p+0, 0x1.710aa807e1964p-58,
    0x1.6a09e667f3bcdp+0, -0x1.3b3efbf5e2228p-54,
    0x1.6c012750bdabfp+0, -0x1.a12ad8734b982p-57,
    0x1.6dfb23c651a2fp+0, -0x1.367efb86da9eep-57,
    0x1.6ff7df9519484p+0, -0x1.0dc3d54e08851p-55,
    0x1.71f75e8ec5f74p+0, -0x1.81f647e5a3ecfp-56,
    0x1.73f9a48a58174p+0, -0x1.6ee4ac08b7dbp-55,
    0x1.75feb564267c9p+0, -0x1.619321e55e68ap-55,
    0x1.780694fde5d3fp+0, 0x1.09ccb5e09d4d3p-54,
    0x1.7a11473eb0187p+0, -0x1.b32dcb94da51dp-56,
    0x1.7c1ed0130c132p+0, 0x1.4ecfd5467c06bp-54,
    0x1.7e2f336cf4e62p+0, 0x1.5ebe1abd66c55p-57,
    0x1.80427543e1a12p+0, -0x1.8a1c52fb3cf42p-55,
    0x1.82589994cce13p+0, -0x1.369b6f13b3734p-54,
    0x1.8471a4623c7adp+0, -0x1.05e843a19ff1ep-55,
    0x1.868d99b4492edp+0, -0x1.4d450d872576ep-54,
    0x1.88ac7d98a6699p+0, 0x1.0ad675b0e8ap-54,
    0x1.8ace5422aa0dbp+0, 0x1.db72fc1f0eab4p-55,
    0x1.8cf3216b5448cp+0, -0x1.5b6609cc5e7ffp-57,
    0x1.8f1ae99157736p+0, 0x1.bf68359f35f44p-56,
    0x1.9145b0b91ffc6p+0, -0x1.3091fa71e3d83p-54,
    0x1.93737b0cdc5e5p+0, -0x1.da9b88b6c1e29p-58,
    0x1.95a44cbc8520fp+0, -0x1.c23f97c90b959p-57,
    0x1.97d829fde4e5p+0, -0x1.2434322f4f9aap-54,
    0x1.9a0f170ca07bap+0, -0x1.5ca6cd7668e4bp-55,
    0x1.9c49182a3f09p+0, 0x1.1affc2b91ce27p-56,
    0x1.9e86319e32323p+0, 0x1.dd235e10a73bbp-57,
    0x1.a0c667b5de565p+0, -0x1.7c50422622263p-55,
    0x1.a309bec4a2d33p+0, 0x1.b1c86e3e231d5p-55,
    0x1.a5503b23e255dp+0, -0x1.1bbd1d3bcbb15p-54,
    0x1.a799e1330b358p+0, 0x1.0cc319cee31d2p-54,
    0x1.a9e6b5579fdbfp+0, 0x1.469846e735ab3p-55,
    0x1.ac36bbfd3f37ap+0, -0x1.2dfcd978e9db4p-55,
    0x1.ae89f995ad3adp+0, 0x1.c1a7792cb3387p-55,
    0x1.b0e07298db666p+0, -0x1.07b8f4ad1d9fap-54,
    0x1.b33a2b84f15fbp+0, -0x1.5c3d956dcaebap-58,
    0x1.b59728de5593ap+0, -0x1.0a40e3da6f64p-54,
    0x1.b7f76f2fb5e47p+0, -0x1.8d6f438ad9334p-57,
    0x1.ba5b030a1064ap+0, -0x1.1eee26b588a35p-54,
    0x1.bcc1e904bc1d2p+0, 0x1.4ffd70a5fddcdp-56,
    0x1.bf2c25bd71e09p+0, -0x1.1bdfbfa9298acp-54,
    0x1.c199bdd85529cp+0, 0x1.36eae30af0cb3p-56,
    0x1.c40ab5fffd07ap+0, 0x1.ee3325c9ffd94p-55,
    0x1.c67f12e57d14bp+0, 0x1.4e08fd10959acp-55,
    0x1.c8f6d9406e7b5p+0, 0x1.3cdaf384e1a67p-57,
    0x1.cb720dcef9069p+0, 0x1.76b2c6c921968p-57,
    0x1.cdf0b555dc3fap+0, -0x1.08a1883ccb5d2p-55,
    0x1.d072d4a07897cp+0, -0x1.fad5d3ffffa6fp-55,
    0x1.d2f87080d89f2p+0, -0x1.00dae3875a949p-54,
    0x1.d5818dcfba487p+0, 0x1.4a385a63d07a7p-56,
    0x1.d80e316c98398p+0, -0x1.2919e2040220fp-55,
    0x1.da9e603db3285p+0, 0x1.e5a50d5c192acp-55,
    0x1.dd321f301b46p+0, 0x1.43a59ac016b4bp-55,
    0x1.dfc97337b9b5fp+0, -0x1.2d52107b43e1fp-55,
    0x1.e264614f5a129p+0, -0x1.92ab93b470dc9p-55,
    0x1.e502ee78b3ff6p+0, 0x1.4b604603a88d3p-56,
    0x1.e7a51fbc74c83p+0, 0x1.3c5ec519d7271p-55,
    0x1.ea4afa2a490dap+0, -0x1.ff7128fd391fp-55,
    0x1.ecf482d8e67f1p+0, -0x1.dae98e223747dp-55,
    0x1.efa1bee615a27p+0, 0x1.ec3bc41aa2008p-55,
    0x1.f252b376bba97p+0, 0x1.42b94c3a9eb32p-55,
    0x1.f50765b6e454p+0, 0x1.a64a931d185eep-55,
    0x1.f7bfdad9cbe14p+0, -0x1.e37bae43be3edp-55,
    0x1.fa7c1819e90d8p+0, 0x1.7893b4d91cd9dp-56,
    0x1.fd3c22b8f71f1p+0, 0x1.305c14160cc89p-58,
};
#define EXP_INVLN2N 0x1.71547652b82fep+7 /* 128/ln2 */
#define EXP_LN2N_HI 0x1.62e42fefcp-8 /* ln2/128, 35 bits */
#define EXP_LN2N_LO -0x1.c610ca86c3899p-44
#define EXP_LN2N 0x1.62e42fefa39efp-8 /* ln2/128 */
/* exp_poly: exponents [0, 1, 2] on [-0.00271, 0.00271], remez error 2^-37.1, rounded 2^-37.1 */
static const double exp_poly[3] = {
    0x1.55555555554f5p-3,
    0x1.55555970c17a3p-5,
    0x1.111114fa6bddfp-7,
};
/* (absolute error of exp(r) itself is r^3 times the above: < 2^-61) */
/* expf_poly: exponents [0, 1] on [-0.00271, 0.00271], remez error 2^-22.6, rounded 2^-22.6 */
static const double expf_poly[2] = {
    0x1.00000522473d7p-1,
    0x1.55555d8c2da68p-3,
};
/* (absolute error of exp(r) is r^2 times the above) */
/* log table: for m in interval i (m bits in [OFF + i 2^45, OFF + (i+1) 2^45)),
   log_tab[3i] = c_i ~ 1/m (20 bits), then -log(c_i) split as hi (a multiple
   of 2^-42) + lo. c_i = 1 on the two intervals around 1. */
#define LOG_OFF 0x3fe6000000000000ULL
static const double log_tab[384] = {
    0x1.734fp+0, -0x1.7cc7d5db46p-2, -0x1.059ebed21a2d6p-46,
    0x1.71378p+0, -0x1.76fed9b947p-2, 0x1.5d446c5602afbp-46,
    0x1.6f26p+0, -0x1.713e2fa46ap-2, -0x1.5b9b260293f1bp-46,
    0x1.6d1a6p+0, -0x1.6b85ae0ffap-2, -0x1.d0d750a0304ffp-45,
    0x1.6b14ap+0, -0x1.65d58414cdp-2, -0x1.6d82e7ee26335p-46,
    0x1.69148p+0, -0x1.602d2baf09p-2, 0x1.e985ac2f98b36p-44,
    0x1.671ap+0, -0x1.5a8cd1bbedp-2, -0x1.6038742507ac8p-44,
    0x1.6525p+0, -0x1.54f447b7bep-2, 0x1.0fb5530ccd276p-45,
    0x1.63356p+0, -0x1.4f635d7ba9p-2, 0x1.26ecc553375c1p-47,
    0x1.614b4p+0, -0x1.49da9abbccp-2, 0x1.c9b3117fe2fa9p-46,
    0x1.5f664p+0, -0x1.445914853ap-2, 0x1.6bcac5b25c98ep-46,
    0x1.5d868p+0, -0x1.3edf513c16p-2, -0x1.d3183dd6f7e5dp-44,
    0x1.5babcp+0, -0x1.396cbed9bbp-2, -0x1.3ad8b77ef61c8p-44,
    0x1.59d62p+0, -0x1.3401e3eaedp-2, 0x1.1b8f355526e72p-44,
    0x1.58056p+0, -0x1.2e9e2b8e12p-2, -0x1.42f0c128d1317p-45,
    0x1.56398p+0, -0x1.2941bcb187p-2, 0x1.758c2abbf8d51p-44,
    0x1.54726p+0, -0x1.23ec5e51ecp-2, 0x1.790644813ffcdp-44,
    0x1.52bp+0, -0x1.1e9e367889p-2, -0x1.f45475b87c132p-46,
    0x1.50f22p+0, -0x1.1956a8f9bbp-2, -0x1.2ccfa067db84cp-44,
    0x1.4f39p+0, -0x1.14169cf367p-2, -0x1.ec080eeda7de4p-48,
    0x1.4d844p+0, -0x1.0edd128b78p-2, 0x1.6f64a811a7574p-47,
    0x1.4bd3ep+0, -0x1.09aa2c6e6cp-2, 0x1.dcbdfb577d97bp-44,
    0x1.4a28p+0, -0x1.047e70cde8p-2, -0x1.b7be26fc852cep-46,
    0x1.48806p+0, -0x1.feb279be9ep-3, -0x1.5258e145d5717p-44,
    0x1.46dcep+0, -0x1.f4749cb4ep-3, 0x1.ef6c9f77b5613p-44,
    0x1.453dap+0, -0x1.ea4455704ap-3, -0x1.4e0966470a4ep-44,
    0x1.43a28p+0, -0x1.e0211e6234p-3, -0x1.c50220342ba25p-49,
    0x1.420b6p+0, -0x1.d60a6e7902p-3, 0x1.04b5eca64ffe7p-44,
    0x1.40782p+0, -0x1.cbffb91db2p-3, -0x1.161436d1c6e01p-47,
    0x1.3ee9p+0, -0x1.c202d6b17ep-3, -0x1.923e6ac71954ep-46,
    0x1.3d5dap+0, -0x1.b8119f8b82p-3, 0x1.f5196dee7c1abp-46,
    0x1.3bd6p+0, -0x1.ae2c4ef67p-3, -0x1.b28d3f2aa3c59p-44,
    0x1.3a524p+0, -0x1.a453f12e6ap-3, -0x1.1e877c0339c0ap-44,
    0x1.38d22p+0, -0x1.9a87225eb8p-3, -0x1.9fc7899a19b8cp-44,
    0x1.3755cp+0, -0x1.90c6ee9fccp-3, 0x1.23efab29e16ap-45,
    0x1.35dcep+0, -0x1.8711ebf50ep-3, -0x1.be1ac6b68262dp-46,
    0x1.3467ap+0, -0x1.7d69264af6p-3, 0x1.3acb571259142p-44,
    0x1.32f5cp+0, -0x1.73cb2d74fap-3, -0x1.607547b4b6373p-44,
    0x1.31878p+0, -0x1.6a39e3abbcp-3, -0x1.7d97f1c91e95bp-49,
    0x1.301c8p+0, -0x1.60b2fe0b0ap-3, 0x1.99c56cd54f81ap-44,
    0x1.2eb4ep+0, -0x1.5737881018p-3, 0x1.5dbb25512afe9p-45,
    0x1.2d50ap+0, -0x1.4dc7b817bcp-3, -0x1.c75b60ae1d464p-47,
    0x1.2befap+0, -0x1.4462ea5c9ap-3, -0x1.55727a33453a2p-44,
    0x1.2a91cp+0, -0x1.3b0877757ep-3, -0x1.94059aa896d0fp-46,
    0x1.29372p+0, -0x1.31b96d53a4p-3, -0x1.2d90ebb856226p-44,
    0x1.27dfap+0, -0x1.287523411ap-3, -0x1.298ce2bfffd7bp-44,
    0x1.268b4p+0, -0x1.1f3bcb5f26p-3, 0x1.edfd32e309011p-44,
    0x1.2539ep+0, -0x1.160cb8a4b2p-3, 0x1.31e2c6c26b149p-45,
    0x1.23eb8p+0, -0x1.0ce81adcccp-3, 0x1.6dd68ab4302aap-45,
    0x1.22a02p+0, -0x1.03ce22251cp-3, -0x1.bac3e99acedap-45,
    0x1.2157ap+0, -0x1.f57c38d9p-4, 0x1.315e462e97bbp-44,
    0x1.2012p+0, -0x1.e3706ee304p-4, -0x1.fed09cb978024p-46,
    0x1.1ecf4p+0, -0x1.d179428218p-4, -0x1.b6467523e7d9ap-45,
    0x1.1d8f6p+0, -0x1.bf971069fcp-4, 0x1.a97b8e7fd0954p-44,
    0x1.1c522p+0, -0x1.adc69be5a8p-4, -0x1.79f28f94e13p-46,
    0x1.1b17cp+0, -0x1.9c0bd4d4dp-4, -0x1.4063f1de4a319p-44,
    0x1.19e02p+0, -0x1.8a6548a918p-4, -0x1.b610e5a38546ep-46,
    0x1.18abp+0, -0x1.78cfaa63d8p-4, 0x1.94c959a092f2p-44,
    0x1.1778ap+0, -0x1.674ef19364p-4, -0x1.971194b9fb856p-44,
    0x1.1648ep+0, -0x1.55e1a150dcp-4, -0x1.0e32fd529c98dp-44,
    0x1.151bap+0, -0x1.4486353dbcp-4, -0x1.190c71accaf45p-44,
    0x1.13f0ep+0, -0x1.333cfc818p-4, -0x1.dc6e993cbe4bp-44,
    0x1.12c8cp+0, -0x1.220823c784p-4, 0x1.82394bcf07e29p-47,
    0x1.11a3p+0, -0x1.10e4433cbp-4, 0x1.8ef69296a3466p-44,
    0x1.107fcp+0, -0x1.ffa70d1ab8p-5, -0x1.fe465f8137b9fp-48,
    0x1.0f5eep+0, -0x1.dda8b7c68p-5, 0x1.1caac64d4aed9p-45,
    0x1.0e406p+0, -0x1.bbce1dc69p-5, 0x1.2c061ce4c0fafp-44,
    0x1.0d244p+0, -0x1.9a17d7574p-5, 0x1.de42e7ba3af0fp-44,
    0x1.0c0a8p+0, -0x1.78867da358p-5, 0x1.e6ac2c308269bp-44,
    0x1.0af3p+0, -0x1.5716d4c038p-5, -0x1.abb976786d0a2p-47,
    0x1.09ddcp+0, -0x1.35c96baa1p-5, -0x1.386fb257a2a1fp-45,
    0x1.08cacp+0, -0x1.149ed24008p-5, 0x1.d6b8a79473ec5p-44,
    0x1.07bap+0, -0x1.e72f32812p-6, -0x1.f145a379992cep-44,
    0x1.06ab6p+0, -0x1.a560d88c5p-6, -0x1.eaf47faaf821fp-44,
    0x1.059eep+0, -0x1.63d3a3868p-6, -0x1.2d0fd363c5e45p-44,
    0x1.0494ap+0, -0x1.22907dfeap-6, -0x1.9d5c67bc16395p-46,
    0x1.038c6p+0, -0x1.c311904c6p-7, 0x1.41bb5df800f51p-44,
    0x1.02864p+0, -0x1.418acf964p-7, -0x1.897d9bbc5ea9fp-45,
    0x1.01824p+0, -0x1.811dc1458p-8, -0x1.0340d3d54fa95p-48,
    0x1p+0, 0x0p+0, 0x0p+0,
    0x1p+0, 0x0p+0, 0x0p+0,
    0x1.fa11cp-1, 0x1.7dc725f82p-7, -0x1.03f24279a767ap-44,
    0x1.f631p-1, 0x1.3ceba4347p-6, -0x1.e0b0fed853743p-46,
    0x1.f25f6p-1, 0x1.b9fc8e7bp-6, -0x1.9358107695779p-44,
    0x1.ee9c8p-1, 0x1.1b0d90924p-5, -0x1.3381e9ae9df1p-44,
    0x1.eae8p-1, 0x1.58a63afc9p-5, -0x1.656e6d58c041cp-46,
    0x1.e741ap-1, 0x1.95c8deec9p-5, 0x1.7c7dd367a2fd4p-49,
    0x1.e3a92p-1, 0x1.d2762aadbp-5, 0x1.f0311a9843dc5p-45,
    0x1.e01ep-1, 0x1.075993599p-4, -0x1.b0ecfe4604432p-44,
    0x1.dca02p-1, 0x1.253f4ff0ap-4, 0x1.4cb78fadac1acp-44,
    0x1.d92f2p-1, 0x1.42eddeea64p-4, 0x1.e92eeecb83024p-46,
    0x1.d5cacp-1, 0x1.6065d09374p-4, 0x1.a55b1fad39aa8p-44,
    0x1.d272cp-1, 0x1.7da7c0d7b4p-4, -0x1.d617b802bb66bp-44,
    0x1.cf26ep-1, 0x1.9ab4576204p-4, -0x1.cfa9021c2a05bp-46,
    0x1.cbe6ep-1, 0x1.b78c47bb1p-4, -0x1.724ef99e084c6p-45,
    0x1.c8b26p-1, 0x1.d4317066ccp-4, -0x1.e3886c6f86dcp-46,
    0x1.c5894p-1, 0x1.f0a3820118p-4, -0x1.13cefec05b2c1p-47,
    0x1.c26b6p-1, 0x1.067118aca6p-3, 0x1.799a7784b454ap-45,
    0x1.bf584p-1, 0x1.1478534674p-3, 0x1.62b450fd471fbp-46,
    0x1.bc4fep-1, 0x1.2266c510a6p-3, 0x1.43de9aa02c927p-46,
    0x1.b951ep-1, 0x1.303d7e0e48p-3, 0x1.bcfa541914558p-49,
    0x1.b65e2p-1, 0x1.3dfc6d8ecep-3, -0x1.11fea0f2e5561p-44,
    0x1.b3748p-1, 0x1.4ba38539a6p-3, -0x1.06d4bad036f2cp-44,
    0x1.b094cp-1, 0x1.5933509982p-3, 0x1.e1da5f7af2e77p-44,
    0x1.adbe8p-1, 0x1.66acfa272cp-3, -0x1.a16421c7fe2a6p-44,
    0x1.aaf1ep-1, 0x1.740f50d404p-3, 0x1.b9c259018bcafp-45,
    0x1.a82e6p-1, 0x1.815c229436p-3, -0x1.6f3a5df1a2efap-45,
    0x1.a5742p-1, 0x1.8e92426888p-3, 0x1.c274e643554fbp-46,
    0x1.a2c2ap-1, 0x1.9bb38c67ep-3, 0x1.1ecaf7684cd87p-46,
    0x1.a01ap-1, 0x1.a8bed7c882p-3, 0x1.eb185cf770f25p-44,
    0x1.9d7ap-1, 0x1.b5b4d1e8fcp-3, 0x1.3c8dc20fee737p-44,
    0x1.9ae24p-1, 0x1.c296ce58c2p-3, 0x1.b23470dd26c5p-44,
    0x1.9853p-1, 0x1.cf6308e09ep-3, -0x1.c9dbd431ae023p-46,
    0x1.95cbcp-1, 0x1.dc1b7d0acp-3, 0x1.d3301f3bfff48p-46,
    0x1.934c6p-1, 0x1.e8c04daaa6p-3, 0x1.90526acb3d24ap-48,
    0x1.90d5p-1, 0x1.f5505964bap-3, -0x1.c71f2ee13a436p-44,
    0x1.8e652p-1, 0x1.00e6d81ad5p-2, 0x1.94734bad64c64p-45,
    0x1.8bfcep-1, 0x1.071b9abcd6p-2, -0x1.cae16eaafbd62p-45,
    0x1.899cp-1, 0x1.0d46dd79acp-2, 0x1.e5906872c81ffp-45,
    0x1.87428p-1, 0x1.136865293bp-2, -0x1.97684a0c51bbfp-44,
    0x1.84fp-1, 0x1.1980f2dd43p-2, -0x1.24262183a4308p-44,
    0x1.82a4ap-1, 0x1.1f8ffa248ap-2, 0x1.7956c040cc921p-45,
    0x1.80602p-1, 0x1.2595ebcdf8p-2, -0x1.8fbc40faba0acp-44,
    0x1.7e226p-1, 0x1.2b92e66b8ap-2, 0x1.e9dec249274fp-45,
    0x1.7beb4p-1, 0x1.31870a1544p-2, 0x1.0c5eac43989bep-44,
    0x1.79baap-1, 0x1.3772786bfep-2, -0x1.42bb68cab2a61p-44,
    0x1.77908p-1, 0x1.3d54fd5c1fp-2, 0x1.c861cd9c795e3p-44,
    0x1.756cap-1, 0x1.432f13e04fp-2, 0x1.6dab962f1a293p-47,
};
/* reduced argument r = m c - 1 lies in [-0.00390625, 0.0078125] */
#define LN2_HI 0x1.62e42fefa38p-1 /* multiple of 2^-42 */
#define LN2_LO 0x1.ef35793c7673p-45
#define LN2_D 0x1.62e42fefa39efp-1
/* log_poly: exponents [0, 1, 2, 3, 4, 5] on [-0.0039062539, 0.0078125078], remez error 2^-52.7, rounded 2^-52.6 */
static const double log_poly[6] = {
    0x1.5555555555554p-2,
    -0x1.fffffffffed03p-3,
    0x1.9999999ab587ep-3,
    -0x1.555559131530ap-3,
    0x1.2491fa499c016p-3,
    -0x1.faba1fe31d7dfp-4,
};
/* (error of log1p(r) is |r|^3 times the above: relative to r < 2^-60) */
/* logf_poly: exponents [0, 1, 2, 3] on [-0.0039062539, 0.0078125078], remez error 2^-35.3, rounded 2^-35.3 */
static const double logf_poly[4] = {
    -0x1.ffffffffe9069p-2,
    0x1.5555567d587d9p-2,
    -0x1.00008119336d5p-2,
    0x1.96f59927588ep-3,
};
/* (error of log1p(r) is r^2 times the above: relative to r < 2^-35) */
/* expm1_poly: exponents [0, 1, 2, 3, 4, 5, 6] on [-0.03125, 0.03125], remez error 2^-62.8, rounded 2^-56.6 */
static const double expm1_poly[7] = {
    0x1.5555555555555p-3,
    0x1.5555555555559p-5,
    0x1.1111111111116p-7,
    0x1.6c16c16b13d83p-10,
    0x1.a01a019ebc4fp-13,
    0x1.a01c07721dd61p-16,
    0x1.71e01e877d3e3p-19,
};
/* (error relative to expm1(x) is x^2 times the above) */
/* erf_poly: exponents [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] on [0.0, 0.25], remez error 2^-65.2, rounded 2^-55.6 */
static const double erf_poly[10] = {
    0x1.06eba8214db69p-3,
    -0x1.812746b0379e6p-2,
    0x1.ce2f21a042b2ap-4,
    -0x1.b82ce3127f805p-6,
    0x1.565bcd0aaa4dep-8,
    -0x1.c02db23ebbebdp-11,
    0x1.f9a2a6b3b88aep-14,
    -0x1.f4bba9616af7ap-17,
    0x1.b776eda612365p-20,
    -0x1.3a00074340c05p-23,
};
/* erf(x) = x + x Q(x^2) on |x| < 1/2, absolute error in Q; the constant
   term Q(0) ~ 2/sqrt(pi) - 1 is also split as C1H (26 bits) + C1L */
#define ERF_C1H 0x1.06eba8p-3
#define ERF_C1L 0x1.0a6db4469c894p-30
/* erf(x) on [1/2, 2) in six intervals of width 1/4: erf(c_j + t) with
   c_j = 0.625 + j/4, |t| <= 1/8. Row: a0 as hi, lo; a1 as hi (26 bits),
   lo; then a2..a12. Absolute error: */
/*   interval 0: remez 2^-64.3, rounded 2^-62.4 */
/*   interval 1: remez 2^-66.1, rounded 2^-61.4 */
/*   interval 2: remez 2^-65.3, rounded 2^-62.8 */
/*   interval 3: remez 2^-65.6, rounded 2^-62.8 */
/*   interval 4: remez 2^-68.9, rounded 2^-66.2 */
/*   interval 5: remez 2^-66.6, rounded 2^-63.8 */
static const double erf_mid[6][15] = {
    {0x1.3f196dcd0f135p-1, -0x1.f25e665c1dd02p-56, 0x1.86e9698p-1,
     -0x1.f65a31223800bp-28, -0x1.e8a3c39181e85p-2, -0x1.c81050216877ep-5,
     0x1.6963c8a39d6b5p-3, -0x1.c1242dfed566fp-6, -0x1.52b2668e91a2dp-5,
     0x1.c7cd9a22dc728p-7, 0x1.b62f4ab04663bp-8, -0x1.dc37fb6bc411dp-9,
     -0x1.81152eff2d32bp-11, 0x1.60d5ae639bb3bp-11, 0x1.56c7911095c82p-15},
    {0x1.91724951b8fc6p-1, -0x1.278d690505d85p-55, 0x1.0cab62p-1,
     -0x1.ef68d9b7744fap-30, -0x1.d62beb64e8442p-2, 0x1.7c9d756a1150ep-4,
     0x1.cc60567d78e63p-4, -0x1.1350f4b20d134p-4, -0x1.53bb4a5c74b15p-7,
     0x1.30ac2149678dfp-6, -0x1.e3f4c9acd12ebp-10, -0x1.aae136fcd2767p-9,
     0x1.d6df09e0af2a8p-11, 0x1.97747ff1b624cp-12, -0x1.911fabdcfd702p-13},
    {0x1.c6dad2829ec62p-1, -0x1.ab713eeffa332p-57, 0x1.45e99cp-2,
     -0x1.a2437555be7d4p-29, -0x1.6ea6cf452e838p-2, 0x1.4cb3cf0aa0c2dp-3,
     0x1.ca5083167a591p-6, -0x1.f65d15f218af5p-5, 0x1.fd1c6c115f605p-7,
     0x1.3acc793cf26edp-7, -0x1.8b43c38601d36p-8, -0x1.79bd614e6f3dp-12,
     0x1.2e517c8b6676ap-10, -0x1.6ddc70b674855p-13, -0x1.278daf55d36fp-13},
    {0x1.e5768c3b4a3fcp-1, 0x1.8b5c32b99051cp-57, 0x1.5ce596p-3,
     -0x1.dd527afac20e8p-30, -0x1.dfbbadedf5d2ep-3, 0x1.4374d82e04ce3p-3,
     -0x1.f3b8d52d35a0dp-6, -0x1.f572c4c943b85p-6, 0x1.6b16f52ca7a12p-6,
     -0x1.73ffa312d8cep-10, -0x1.174048147ee7bp-8, 0x1.9da10f4a309e2p-10,
     0x1.5353c1e0a17eap-12, -0x1.615aff3ae5902p-12, 0x1.d57ce11d11ea1p-16},
    {0x1.f4f693b67bd77p-1, -0x1.3a219224f9cfbp-56, 0x1.499d478p-4,
     0x1.794e6a2d1507fp-33, -0x1.0bcfca21947dbp-3, 0x1.d6631e1a28e86p-4,
     -0x1.974c036867438p-5, -0x1.17d430bcf67d9p-9, 0x1.d857f2c547c2bp-7,
     -0x1.954ab11f758dbp-8, -0x1.2e43f49f936bfp-11, 0x1.71cdbec464bbdp-10,
     -0x1.75419b3dfe383p-12, -0x1.07faf4fc12c51p-13, 0x1.6e609275cf207p-14},
    {0x1.fbe61eef4cf6ap-1, 0x1.15def2d2ba67dp-55, 0x1.12ceb38p-5,
     -0x1.90f1cf72f9032p-43, -0x1.01a1c847fa207p-4, 0x1.143d1c6f4f018p-4,
     -0x1.5a316520b819bp-5, 0x1.779b1e577f91cp-7, 0x1.0d099c7b151dap-8,
     -0x1.42fcbb7be2f2bp-8, 0x1.76ff5811585f8p-10, 0x1.7bdffc6f20ca9p-12,
     -0x1.991c69ddde5cfp-12, 0x1.30d4aed9bb439p-14, 0x1.2f00693d2f829p-15},
};
/* erfc(x) = exp(-x^2) R(x); R on [2, 6) in eight intervals of width 1/2,
   a polynomial in t = x - (2.25 + j/2), |t| <= 1/4, relative error: */
/*   interval 0: remez 2^-65.6, rounded 2^-55.0 */
/*   interval 1: remez 2^-67.8, rounded 2^-53.8 */
/*   interval 2: remez 2^-69.9, rounded 2^-57.4 */
/*   interval 3: remez 2^-71.9, rounded 2^-53.1 */
/*   interval 4: remez 2^-73.7, rounded 2^-53.1 */
/*   interval 5: remez 2^-75.4, rounded 2^-54.9 */
/*   interval 6: remez 2^-77.0, rounded 2^-55.0 */
/*   interval 7: remez 2^-78.5, rounded 2^-55.3 */
static const double erfc_tab[8][14] = {
    {0x1.d94446d627932p-3, -0x1.6a70d2bb37411p-4, 0x1.0615670e25a7ap-5,
     -0x1.6883f9919a17bp-7, 0x1.da595561f8c97p-9, -0x1.2bd251bb2ef77p-10,
     0x1.6d7743d0cfa57p-12, -0x1.aed7ebc892e46p-14, 0x1.ec77450789531p-16,
     -0x1.117a68eb21673p-17, 0x1.27a93850dc391p-19, -0x1.37b4fad2d7fb2p-21,
     0x1.45499587d29a5p-23, -0x1.46dde4af177dcp-25},
    {0x1.8c9eb68ff27d7p-3, -0x1.0305781330099p-4, 0x1.43b98bac83823p-6,
     -0x1.84e9ab30e6ab3p-8, 0x1.c2c72fd727ba7p-10, -0x1.f99e41ecb09ap-12,
     0x1.131bb16021a3fp-13, -0x1.2312b258f3b19p-15, 0x1.2bfb5df47b58ep-17,
     -0x1.2da32b97f0dd1p-19, 0x1.2852bbac28af4p-21, -0x1.1ccc6ea60b957p-23,
     0x1.0f2b05cf73f25p-25, -0x1.f3e3c2dc4dce4p-28},
    {0x1.54a7a08d4bb45p-3, -0x1.82a8522b868a1p-5, 0x1.a7eddc9ee6425p-7,
     -0x1.c24b49c47a2c4p-9, 0x1.d085857a1816p-11, -0x1.d25ebba1c4996p-13,
     0x1.c882f022b0623p-15, -0x1.b45d025f3c7c5p-17, 0x1.97dd7b2bda9a8p-19,
     -0x1.753cacce1acbdp-21, 0x1.4ebd278edfe2p-23, -0x1.2689cad9b89a1p-25,
     0x1.00f738b2b376p-27, -0x1.b3fd71663123ap-30},
    {0x1.2a2af19c1493p-3, -0x1.2aa6503acda11p-5, 0x1.22f0664f3cbf9p-7,
     -0x1.1434ae05873abp-9, 0x1.fff032a0df986p-12, -0x1.cfcdea1b1f5ap-14,
     0x1.9b50d0d202262p-16, -0x1.65778aad09618p-18, 0x1.30c2fc4e6af8fp-20,
     -0x1.fe3e33ff2ad06p-23, 0x1.a3bbca293b5cp-25, -0x1.5392f5a1ba83ep-27,
     0x1.109d8675af354p-29, -0x1.ab3791b29687ap-32},
    {0x1.08e62ce8c89adp-3, -0x1.da3953352497p-6, 0x1.9ef71691a552p-8,
     -0x1.6373226edf541p-10, 0x1.2a660fdec0495p-12, -0x1.eb88e0e8f3bbp-15,
     0x1.8d8e597518b93p-17, -0x1.3c0776384f801p-19, 0x1.ee335fdba3cb9p-22,
     -0x1.7c568ddf0df49p-24, 0x1.204958cfd15c4p-26, -0x1.aeb21f2fcacb9p-29,
     0x1.3f80ba363325bp-31, -0x1.d01a692db1311p-34},
    {0x1.dc603a3e77e9bp-4, -0x1.81149bc4a104bp-6, 0x1.317c144f8b419p-8,
     -0x1.dc1af883a33c8p-11, 0x1.6cc10c16255c7p-13, -0x1.12f1743bc5a34p-15,
     0x1.9818c0a1ac93ap-18, -0x1.2a625a21ed9bcp-20, 0x1.ae1fad62ad322p-23,
     -0x1.31c3e0977a53fp-25, 0x1.acf854737c293p-28, -0x1.2912bbc186f64p-30,
     0x1.98e756b44a67ap-33, -0x1.143e64340f1bbp-35},
    {0x1.b096face146fep-4, -0x1.3e981b3b1359p-6, 0x1.cdeae21161624p-9,
     -0x1.49d492a39eb5fp-11, 0x1.d03e19aa1138fp-14, -0x1.4230e3ccf8797p-16,
     0x1.b93f4735bbbap-19, -0x1.2a4352eaa3f49p-21, 0x1.8e37536997d8bp-24,
     -0x1.06a3adc8f6e1bp-26, 0x1.566888fa65834p-29, -0x1.b9606e9782e53p-32,
     0x1.1ae23a5b116d8p-34, -0x1.64bb3ba1d09e6p-37},
    {0x1.8c14049cd551ep-4, -0x1.0bc46cdc18fe6p-6, 0x1.6535040e2c85ap-9,
     -0x1.d662fda6d50f5p-12, 0x1.31dddbe4362a6p-14, -0x1.8900e0bd28f33p-17,
     0x1.f31a325aafe32p-20, -0x1.395be06d3b8d3p-22, 0x1.8530fe28d3507p-25,
     -0x1.de425462d1e6cp-28, 0x1.22d48e4b68e3fp-30, -0x1.5e2ca593d16afp-33,
     0x1.a380c3e25f5a1p-36, -0x1.ef57a862bbe6bp-39},
};
/* 1/sqrt(m) seeds: index (odd exponent) * 64 + top 6 fraction bits;
   m in [1,2) for even, [2,4) for odd exponents; minimax constant per cell. */
static const float rsqrt_tab[128] = {
    0x1.fe03f6p-1f, 0x1.fa1b6ep-1f, 0x1.f6498cp-1f, 0x1.f28d7cp-1f,
    0x1.eee66ep-1f, 0x1.eb53a2p-1f, 0x1.e7d45ep-1f, 0x1.e467f4p-1f,
    0x1.e10dbcp-1f, 0x1.ddc518p-1f, 0x1.da8d7p-1f, 0x1.d76632p-1f,
    0x1.d44ed8p-1f, 0x1.d146dap-1f, 0x1.ce4dbcp-1f, 0x1.cb6306p-1f,
    0x1.c88646p-1f, 0x1.c5b70ep-1f, 0x1.c2f4f2p-1f, 0x1.c03f9p-1f,
    0x1.bd9688p-1f, 0x1.baf97ap-1f, 0x1.b8681p-1f, 0x1.b5e1f2p-1f,
    0x1.b366dp-1f, 0x1.b0f65cp-1f, 0x1.ae9048p-1f, 0x1.ac344cp-1f,
    0x1.a9e224p-1f, 0x1.a7998ap-1f, 0x1.a55a3cp-1f, 0x1.a324p-1f,
    0x1.a0f696p-1f, 0x1.9ed1c4p-1f, 0x1.9cb554p-1f, 0x1.9aa11p-1f,
    0x1.9894c2p-1f, 0x1.969038p-1f, 0x1.949344p-1f, 0x1.929db2p-1f,
    0x1.90af5ap-1f, 0x1.8ec80cp-1f, 0x1.8ce7ap-1f, 0x1.8b0decp-1f,
    0x1.893ac8p-1f, 0x1.876e1p-1f, 0x1.85a79ap-1f, 0x1.83e746p-1f,
    0x1.822cfp-1f, 0x1.807876p-1f, 0x1.7ec9b6p-1f, 0x1.7d2092p-1f,
    0x1.7b7ceap-1f, 0x1.79deap-1f, 0x1.784598p-1f, 0x1.76b1b6p-1f,
    0x1.7522dcp-1f, 0x1.7398f2p-1f, 0x1.7213dep-1f, 0x1.709386p-1f,
    0x1.6f17d2p-1f, 0x1.6da0aap-1f, 0x1.6c2df6p-1f, 0x1.6abfa2p-1f,
    0x1.68a2aap-1f, 0x1.65df2ep-1f, 0x1.632bb6p-1f, 0x1.6087acp-1f,
    0x1.5df27ep-1f, 0x1.5b6ba2p-1f, 0x1.58f296p-1f, 0x1.5686dep-1f,
    0x1.542804p-1f, 0x1.51d598p-1f, 0x1.4f8f2ep-1f, 0x1.4d546p-1f,
    0x1.4b24ccp-1f, 0x1.490016p-1f, 0x1.46e5e6p-1f, 0x1.44d5e6p-1f,
    0x1.42cfc4p-1f, 0x1.40d332p-1f, 0x1.3edfe8p-1f, 0x1.3cf59cp-1f,
    0x1.3b140cp-1f, 0x1.393af4p-1f, 0x1.376a18p-1f, 0x1.35a138p-1f,
    0x1.33e01cp-1f, 0x1.32268ep-1f, 0x1.307456p-1f, 0x1.2ec942p-1f,
    0x1.2d252p-1f, 0x1.2b87bep-1f, 0x1.29f0f2p-1f, 0x1.28608ep-1f,
    0x1.26d668p-1f, 0x1.255256p-1f, 0x1.23d43p-1f, 0x1.225bd2p-1f,
    0x1.20e914p-1f, 0x1.1f7bd4p-1f, 0x1.1e13f2p-1f, 0x1.1cb148p-1f,
    0x1.1b53bap-1f, 0x1.19fb26p-1f, 0x1.18a772p-1f, 0x1.17587cp-1f,
    0x1.160e2ap-1f, 0x1.14c862p-1f, 0x1.13870ap-1f, 0x1.124a04p-1f,
    0x1.11113ep-1f, 0x1.0fdc9ap-1f, 0x1.0eac04p-1f, 0x1.0d7f66p-1f,
    0x1.0c56a8p-1f, 0x1.0b31b6p-1f, 0x1.0a107cp-1f, 0x1.08f2e4p-1f,
    0x1.07d8dcp-1f, 0x1.06c252p-1f, 0x1.05af34p-1f, 0x1.049f6ep-1f,
    0x1.0392fp-1f, 0x1.0289aap-1f, 0x1.01838ap-1f, 0x1.00808p-1f,
};
/* seed relative error <= 2^-8.0 */

#define SIGN64 0x8000000000000000ULL
#define ABS64 0x7fffffffffffffffULL
#define INF64 0x7ff0000000000000ULL
#define NAN64 0x7ff8000000000000ULL
#define INF32 0x7f800000u
#define NAN32 0x7fc00000u
/* clears the low 27 bits: the high part keeps 26 significant bits */
#define SPLIT_MASK 0xfffffffff8000000ULL
/* clears the low 20 bits: the high part keeps 33 significant bits */
#define LOG_MASK 0xfffffffffff00000ULL

#define EXP_SHIFT 0x1.8p52

/* ------------------------------------------------------------------ exp */

/* x = k ln2/128 + r. Returns the bits of k + 1.5*2^52, whose low bits are k
 * in two's complement; *r is the reduced argument, |r| <= ln2/256 + 2^-40.
 * Valid for |x| < 2^20 or so. */
static inline uint64_t exp_reduce(double x, double *r) {
    double kd = x * EXP_INVLN2N + EXP_SHIFT;
    uint64_t ki = asu64(kd);
    kd -= EXP_SHIFT;
    *r = (x - kd * EXP_LN2N_HI) - kd * EXP_LN2N_LO;
    return ki;
}

/* expm1(r) for |r| < 0.00271, absolute error < 2^-62 (before rounding). */
static inline double exp_poly_eval(double r) {
    double r2 = r * r;
    double h = exp_poly[0] + r * exp_poly[1] + r2 * exp_poly[2];
    return r + r2 * (0.5 + r * h);
}

/* 2^(k/128) without its correction: T_hi[k & 127] with (k >> 7) added to
 * the exponent field (modulo 2^64, so negative k works). */
static inline uint64_t exp_scale_bits(uint64_t ki) {
    return asu64(exp_tab[2 * (ki & 127)]) + ((ki >> 7) << 52);
}

static double exp_special(double x, uint32_t top) {
    if (top < 0x3c9) return 1.0 + x; /* |x| < 2^-54: exp(x) rounds as 1 + x */
    if (top >= 0x7ff) {
        if (asu64(x) == (SIGN64 | INF64)) return 0.0; /* exp(-inf) */
        return x + x;                                 /* +inf, NaN */
    }
    if (x > 709.79) return asf64(INF64);
    if (x < -745.2) return 0.0; /* below half the smallest subnormal */
    /* 512 <= |x| < 745.2: as the main path, with the scale split so that
     * 2^(k>>7) stays a normal number. */
    double r;
    uint64_t ki = exp_reduce(x, &r);
    double tr = exp_tab[2 * (ki & 127) + 1];
    double p = exp_poly_eval(r);
    if (x > 0) {
        double s = asf64(exp_scale_bits(ki) - (1ULL << 52)); /* 2^(k/128 - 1) */
        double y = s + s * (tr + p);
        return 2.0 * y; /* overflows to inf past ln(DBL_MAX) */
    }
    double s = asf64(exp_scale_bits(ki) + (1022ULL << 52)); /* 2^(k/128 + 1022) */
    double lo = s * (tr + p);
    double y = s + lo;
    if (y >= 1.0) return y * 0x1p-1022; /* normal result: exact scaling */
    /* Subnormal result: round s + lo once, to a multiple of 2^-52 (the
     * subnormal grid scaled by 2^1022), by adding 1 with an exact two-sum. */
    double h1 = 1.0 + s;
    double e1 = (1.0 - h1) + s;
    double t = h1 + (e1 + lo);
    return (t - 1.0) * 0x1p-1022; /* exact */
}

/* exp(x). Error < 0.52 ULP (a single rounding of a result whose relative
 * error is below 2^-60), including subnormal results (below 0.51 ULP of the
 * smallest subnormal). exp(±0) = 1, exp(-inf) = +0, exp(+inf) = +inf, +inf
 * above 709.78, +0 below -745.14. */
double vn_exp_d(double x) {
    uint32_t top = (uint32_t)(asu64(x) >> 52) & 0x7ff;
    if (top - 0x3c9u >= 0x408u - 0x3c9u) return exp_special(x, top);
    double r;
    uint64_t ki = exp_reduce(x, &r);
    double tr = exp_tab[2 * (ki & 127) + 1];
    double s = asf64(exp_scale_bits(ki));
    double p = exp_poly_eval(r);
    return s + s * (tr + p);
}

/* exp(x) for float. Error < 0.51 ULP: the double intermediate has relative
 * error below 2^-39, then one rounding to float (subnormal results too). */
float vn_expf(float x) {
    if (!(x > -104.0f && x < 89.0f)) {
        if (x != x) return x + x;
        return x > 0 ? asf32(INF32) : 0.0f;
    }
    double xd = x;
    double kd = xd * EXP_INVLN2N + EXP_SHIFT;
    uint64_t ki = asu64(kd);
    kd -= EXP_SHIFT;
    double r = xd - kd * EXP_LN2N;
    double s = asf64(exp_scale_bits(ki));
    double p = r + r * r * (expf_poly[0] + r * expf_poly[1]);
    return (float)(s + s * p);
}

/* ---------------------------------------------------------------- expm1 */

/* (expm1(x) - x - x^2/2) / x^3 for |x| < 2^-5 */
static inline double expm1_h(double x) {
    double x2 = x * x;
    double x4 = x2 * x2;
    return expm1_poly[0] + x * expm1_poly[1] + x2 * (expm1_poly[2] + x * expm1_poly[3]) +
           x4 * (expm1_poly[4] + x * expm1_poly[5] + x2 * expm1_poly[6]);
}

/* expm1(x) as an unevaluated sum *hi + *lo, |x| in [2^-5, 45): relative
 * error below 2^-60. */
static inline void expm1_table(double x, double *hi, double *lo) {
    double r;
    uint64_t ki = exp_reduce(x, &r);
    double tr = exp_tab[2 * (ki & 127) + 1];
    double s = asf64(exp_scale_bits(ki));
    double p = exp_poly_eval(r);
    /* s - 1 exactly (two-sum), then exp(x) - 1 = (s - 1) + s (tr + p) */
    double h = s - 1.0;
    double bb = h - s;
    double l = (s - (h - bb)) + (-1.0 - bb);
    *hi = h;
    *lo = l + s * (tr + p);
}

/* expm1(x) = exp(x) - 1. Error < 0.65 ULP. expm1(±0) = ±0, expm1(-inf) = -1,
 * expm1(+inf) = +inf; overflow as exp. */
double vn_expm1_d(double x) {
    uint32_t atop = (uint32_t)(asu64(x) >> 52) & 0x7ff;
    if (atop < 0x3fa) {                 /* |x| < 2^-5 */
        if (atop < 0x3c9) return x;     /* |x| < 2^-54, ±0, subnormals */
        double x2 = x * x;
        return x + (0.5 * x2 + x2 * x * expm1_h(x));
    }
    if (!(x > -40.0 && x < 40.0)) {
        if (x != x) return x + x;
        if (x < 0) return -1.0; /* e^-40 is below half an ULP of 1 */
        return vn_exp_d(x);     /* exp(x) - 1 rounds as exp(x) */
    }
    double hi, lo;
    expm1_table(x, &hi, &lo);
    return hi + lo;
}

/* expm1(x) for float: the double result rounded. Error < 0.51 ULP. */
float vn_expm1f(float x) { return (float)vn_expm1_d((double)x); }

/* ------------------------------------------------------------------ log */

/* log1p(r) - r for |r| <= 2^-7: -r^2/2 + r^3 P(r); relative error (to r)
 * below 2^-66 before rounding. */
static inline double log1p_tail(double r) {
    double r2 = r * r;
    double r4 = r2 * r2;
    double p = log_poly[0] + r * log_poly[1] + r2 * (log_poly[2] + r * log_poly[3]) +
               r4 * (log_poly[4] + r * log_poly[5]);
    return r2 * (-0.5 + r * p);
}

#define NEAR1_LO 0x3fefe00000000000ULL /* 1 - 2^-8 */
#define NEAR1_HI 0x3ff0200000000000ULL /* 1 + 2^-7 */

/* The log reduction of a positive normal double with bits iu:
 * iu = 2^e m, m in [0.6875, 1.375) (in bits: iu - LOG_OFF split at 2^52). */
typedef struct {
    int e;
    const double *t; /* c, -log(c) hi, -log(c) lo */
    double m;
} log_parts;

static inline log_parts log_split(uint64_t iu) {
    log_parts lp;
    uint64_t iz = iu - LOG_OFF + (1ULL << 62);
    lp.e = (int)(iz >> 52) - 1024;
    lp.t = &log_tab[3 * ((iz >> 45) & 127)];
    lp.m = asf64(iu - (iz & 0xfff0000000000000ULL) + (1ULL << 62));
    return lp;
}

/* log(2^e (m + xl)) from the split of the high part and a small extra term
 * xl (already scaled by 2^-e). Not used for e = 0 with c = 1 (x near 1),
 * where the split of m would cost accuracy. */
static inline double log_finish(log_parts lp, double xl) {
    double mh = asf64(asu64(lp.m) & LOG_MASK);
    double ml = lp.m - mh;
    double c = lp.t[0];
    double a = mh * c - 1.0; /* exact: 33-bit times 20-bit product, Sterbenz */
    double b = (ml + xl) * c;
    double r = a + b;
    double ed = (double)lp.e;
    double w = ed * LN2_HI + lp.t[1]; /* exact: both multiples of 2^-42 */
    double hi = w + a;                /* fast two-sum, |w| > |a| */
    double lo = (w - hi) + a;
    double tail = ed * LN2_LO + lp.t[2];
    return hi + (lo + b + tail + log1p_tail(r));
}

/* log(x). Error < 0.52 ULP. log(±0) = -inf, log(x<0) = NaN, log(1) = +0,
 * log(+inf) = +inf; subnormal inputs exact-scaled first. */
double vn_log_d(double x) {
    uint64_t ix = asu64(x);
    int eadj = 0;
    if (ix - 0x0010000000000000ULL >= INF64 - 0x0010000000000000ULL) {
        if ((ix << 1) == 0) return -asf64(INF64);
        if (ix == INF64) return x;
        if ((ix & ABS64) > INF64) return x + x;
        if (ix >> 63) return asf64(NAN64);
        ix = asu64(x * 0x1p52); /* subnormal: scale exactly */
        eadj = -52;
    }
    if (ix - NEAR1_LO < NEAR1_HI - NEAR1_LO) {
        double r = x - 1.0; /* exact */
        return r + log1p_tail(r);
    }
    log_parts lp = log_split(ix);
    lp.e += eadj;
    return log_finish(lp, 0.0);
}

/* log(x) for float. Error < 0.51 ULP (double intermediate, relative error
 * below 2^-40, rounded once). */
float vn_logf(float x) {
    uint32_t ix = asu32(x);
    if (ix - 0x00800000u >= INF32 - 0x00800000u) {
        if ((ix << 1) == 0) return -asf32(INF32);
        if (ix == INF32) return x;
        if ((ix & 0x7fffffffu) > INF32) return x + x;
        if (ix >> 31) return asf32(NAN32);
        /* subnormal floats are normal doubles: fall through */
    }
    log_parts lp = log_split(asu64((double)x));
    double r = lp.m * lp.t[0] - 1.0; /* exact: 24-bit times 20-bit */
    double r2 = r * r;
    double p = logf_poly[0] + r * logf_poly[1] + r2 * (logf_poly[2] + r * logf_poly[3]);
    double w = (double)lp.e * LN2_D + lp.t[1];
    return (float)(w + (r + r2 * p));
}

/* log1p(x) = log(1 + x). Error < 0.55 ULP. log1p(±0) = ±0, log1p(-1) = -inf,
 * log1p(x < -1) = NaN, log1p(+inf) = +inf. */
double vn_log1p_d(double x) {
    if (x >= -0x1p-8 && x < 0x1p-7) {
        if (vn_fabs(x) < 0x1p-54) return x; /* ±0, subnormals, tiny */
        return x + log1p_tail(x);
    }
    if (!(x > -1.0 && x < asf64(INF64))) {
        if (x == -1.0) return -asf64(INF64);
        if (x > 0 || x != x) return x + x; /* +inf, NaN */
        return asf64(NAN64);
    }
    /* 1 + x = u + ul exactly (two-sum) */
    double u = 1.0 + x;
    double bb = u - x;
    double ul = (x - (u - bb)) + (1.0 - bb);
    log_parts lp = log_split(asu64(u));
    /* ul / 2^e; beyond 2^53 the correction is below 2^-53 relative and
     * dropped (its effect on the result is under 1/64 ULP) */
    int es = lp.e > 60 ? 60 : lp.e;
    double xl = x < 0x1p53 ? ul * asf64((uint64_t)(1023 - es) << 52) : 0.0;
    return log_finish(lp, xl);
}

/* log1p(x) for float: the double result rounded. Error < 0.51 ULP. */
float vn_log1pf(float x) { return (float)vn_log1p_d((double)x); }

/* ----------------------------------------------------------------- tanh */

/* tanh(x). Error < 0.65 ULP. tanh(±0) = ±0, tanh(±inf) = ±1; tiny inputs
 * return x. */
double vn_tanh_d(double x) {
    uint64_t ix = asu64(x);
    uint64_t sign = ix & SIGN64;
    double y = asf64(ix & ABS64);
    if (!(y >= 0x1p-27 && y < 22.0)) {
        if (y != y) return x + x;
        if (y < 0x1p-27) return x; /* tanh(x) rounds to x; ±0 */
        return asf64(sign | 0x3ff0000000000000ULL); /* 1 - tanh < 2^-54 */
    }
    /* e = expm1(2y) = eh + el */
    double z = 2.0 * y, eh, el;
    if (z < 0x1p-5) {
        double z2 = z * z;
        eh = z;
        el = 0.5 * z2 + z2 * z * expm1_h(z);
    } else {
        expm1_table(z, &eh, &el);
    }
    double bh = eh + el; /* normalise: fast two-sum, |eh| > |el| */
    el = (eh - bh) + el;
    eh = bh;
    /* d = e + 2 = dh + dl (two-sum) */
    double dh = eh + 2.0;
    double bb = dh - eh;
    double dl = ((eh - (dh - bb)) + (2.0 - bb)) + el;
    /* q = e / d: q0 = eh / dh, then one correction with the exact residual
     * eh - q0 dh (all four partial products exact). */
    double inv = 1.0 / dh;
    double q = eh * inv;
    double qh = asf64(asu64(q) & SPLIT_MASK), ql = q - qh;
    double dhh = asf64(asu64(dh) & SPLIT_MASK), dhl = dh - dhh;
    double rem = (((eh - qh * dhh) - qh * dhl) - ql * dhh) - ql * dhl;
    rem += el - q * dl;
    q = q + rem * inv;
    return asf64(asu64(q) | sign);
}

/* tanh(x) for float. Error < 0.51 ULP: relative error of the double
 * intermediate below 2^-34, rounded once. */
float vn_tanhf(float x) {
    uint32_t ix = asu32(x);
    uint32_t sign = ix & 0x80000000u, ia = ix & 0x7fffffffu;
    if (ia - 0x39800000u >= 0x41200000u - 0x39800000u) { /* |x| < 2^-12, >= 10 */
        if (ia < 0x39800000u) return x;
        if (ia > INF32) return x + x;
        return asf32(sign | 0x3f800000u);
    }
    double y = (double)asf32(ia), t;
    if (ia < 0x3c800000u) { /* |x| < 2^-6: Taylor series */
        double y2 = y * y;
        t = y + y * y2 * (-1.0 / 3 + y2 * (2.0 / 15 + y2 * (-17.0 / 315)));
    } else {
        double z = 2.0 * y;
        double kd = z * EXP_INVLN2N + EXP_SHIFT;
        uint64_t ki = asu64(kd);
        kd -= EXP_SHIFT;
        double r = z - kd * EXP_LN2N;
        double s = asf64(exp_scale_bits(ki));
        double e = s + s * (r + r * r * (expf_poly[0] + r * expf_poly[1]));
        t = (e - 1.0) / (e + 1.0);
    }
    return asf32(asu32((float)t) | sign);
}

/* ------------------------------------------------------------------ erf */

/* x (1 + C1 + q) with C1 = Q(0) ~ 2/sqrt(pi) - 1 and |q| small: x C1 is
 * formed as xh C1H (exact) + the rest, and x + xh C1H by a fast two-sum, so
 * only the final addition rounds at the result's scale. */
static inline double erf_lin(double x, double q) {
    double xh = asf64(asu64(x) & SPLIT_MASK), xl = x - xh;
    double a = xh * ERF_C1H; /* exact: 26-bit times 26-bit */
    double hi = x + a;
    double lo = (x - hi) + a;
    return hi + (lo + (xl * ERF_C1H + x * (ERF_C1L + q)));
}

/* erf(x) = x (1 + C1) for |x| < 2^-1000. A subnormal result is rounded once,
 * as an integer count n (1 + C1) of the smallest subnormal: adding 2^52 puts
 * the rounding point of the sum at 1. Otherwise the scaled result is normal
 * and the final scaling exact. */
static double erf_tiny(double x, double y) {
    if (y == 0) return x;
    if (y < 0x0.e2dfc48da77b5p-1022) { /* below 2^-1022 / (1 + C1) */
        double n = y * 0x1p1000 * 0x1p74; /* an integer below 2^52 / (1 + C1) */
        double nh = asf64(asu64(n) & SPLIT_MASK), nl = n - nh;
        double a = nh * ERF_C1H;
        double hi = n + a;
        double lo = ((n - hi) + a) + (nl * ERF_C1H + n * ERF_C1L);
        double h1 = 0x1p52 + hi; /* fast two-sum: hi < 2^52 */
        double e1 = (0x1p52 - h1) + hi;
        double k = (h1 + (e1 + lo)) - 0x1p52; /* the one rounding; then exact */
        return asf64(asu64(k * 0x1p-1074) | (asu64(x) & SIGN64));
    }
    return erf_lin(x * 0x1p64, 0.0) * 0x1p-64;
}

/* erf(x). Error < 0.8 ULP. erf(±0) = ±0, erf(±inf) = ±1; subnormal inputs
 * rounded once. */
double vn_erf_d(double x) {
    uint64_t ix = asu64(x);
    uint64_t sign = ix & SIGN64;
    double y = asf64(ix & ABS64);
    if (y < 0.5) {
        if (y < 0x1p-28) { /* erf(x) = x (1 + C1) (1 - x^2/3) rounds as x (1 + C1) */
            if (y < 0x1p-1000) return erf_tiny(x, y);
            return erf_lin(x, 0.0);
        }
        double s = x * x;
        double s2 = s * s;
        double s4 = s2 * s2;
        const double *c = erf_poly; /* c[0] is C1, taken as C1H + C1L */
        double q = s * ((c[1] + s * c[2]) + s2 * (c[3] + s * c[4]) +
                        s4 * ((c[5] + s * c[6]) + s2 * (c[7] + s * c[8]) + s4 * c[9]));
        return erf_lin(x, q);
    }
    if (y < 2.0) {
        /* erf(c + t) = a0 + a1 t + t^2 P(t): a0 + a1h th is a fast two-sum of
         * an exact product (th = t with 26 bits), the rest is small. */
        int j = (int)(4.0 * y) - 2;
        const double *c = erf_mid[j];
        double t = y - (0.625 + 0.25 * j); /* exact */
        double th = asf64(asu64(t) & SPLIT_MASK), tl = t - th;
        double a = th * c[2];
        double hi = c[0] + a;
        double lo = (c[0] - hi) + a;
        double t2 = t * t;
        double t4 = t2 * t2;
        double t8 = t4 * t4;
        double p = (c[4] + t * c[5]) + t2 * (c[6] + t * c[7]) + t4 * ((c[8] + t * c[9]) + t2 * (c[10] + t * c[11])) +
                   t8 * ((c[12] + t * c[13]) + t2 * c[14]);
        double res = hi + (lo + (c[1] + tl * c[2] + t * c[3] + t2 * p));
        return asf64(asu64(res) | sign);
    }
    if (!(y < 6.0)) {
        if (y != y) return x + x;
        return asf64(sign | 0x3ff0000000000000ULL); /* erfc(6) < 2^-54 */
    }
    /* 2 <= y < 6: erf = 1 - exp(-y^2) R(y). y^2 = s1 + s2: yh has 26 bits so
     * s1 = yh^2 is exact and s2 = yl (y + yh) carries the rest. */
    double yh = asf64(asu64(y) & SPLIT_MASK), yl = y - yh;
    double s1 = yh * yh, s2 = yl * (y + yh);
    double r;
    uint64_t ki = exp_reduce(-s1, &r);
    r -= s2;
    double tr = exp_tab[2 * (ki & 127) + 1];
    double sc = asf64(exp_scale_bits(ki));
    double e = sc + sc * (tr + exp_poly_eval(r)); /* exp(-y^2) */
    int j = (int)(2.0 * y) - 4;
    const double *c = erfc_tab[j];
    double t = y - (2.25 + 0.5 * j); /* exact */
    double t2 = t * t;
    double t4 = t2 * t2;
    double t8 = t4 * t4;
    double rr = (c[0] + t * c[1]) + t2 * (c[2] + t * c[3]) + t4 * ((c[4] + t * c[5]) + t2 * (c[6] + t * c[7])) +
                t8 * ((c[8] + t * c[9]) + t2 * (c[10] + t * c[11]) + t4 * (c[12] + t * c[13]));
    double res = 1.0 - e * rr;
    return asf64(asu64(res) | sign);
}

/* erf(x) for float: the double result rounded. Error < 0.51 ULP. */
float vn_erff(float x) { return (float)vn_erf_d((double)x); }

/* ----------------------------------------------------------------- sqrt */

/* u taken as a two's complement 64-bit number (without relying on
 * implementation-defined conversion). */
static inline int64_t as_signed(uint64_t u) {
    return u < SIGN64 ? (int64_t)u : -(int64_t)(~u) - 1;
}

/* sqrt(x), correctly rounded (error <= 0.5 ULP: identical to IEEE sqrt).
 * sqrt(±0) = ±0, sqrt(x<0) = NaN, sqrt(+inf) = +inf; subnormal inputs are
 * scaled by 2^54 first (exact). */
double vn_sqrt_d(double x) {
    uint64_t ix = asu64(x);
    int sub = 0;
    if (ix - 0x0010000000000000ULL >= INF64 - 0x0010000000000000ULL) {
        if ((ix << 1) == 0) return x;
        if (ix == INF64) return x;
        if ((ix & ABS64) > INF64) return x + x;
        if (ix >> 63) return asf64(NAN64);
        ix = asu64(x * 0x1p54); /* subnormal: even scale, exact */
        sub = 1;
    }
    uint64_t eb = ix >> 52; /* biased exponent, 1..2046 */
    uint64_t mant = (ix & 0x000fffffffffffffULL) | 0x0010000000000000ULL;
    unsigned odd = (unsigned)(~eb & 1); /* unbiased exponent odd */
    /* sqrt(x) = sqrt(m) 2^floor(E/2), m = mant 2^(odd-52) in [1, 4);
     * N = mant 2^(52+odd), sqrt(N) = sqrt(m) 2^52 in [2^52, 2^53). Only
     * N mod 2^64 is needed. */
    uint64_t nlo = mant << (52 + odd);
    double m = (double)(int64_t)mant * (odd ? 0x1p-51 : 0x1p-52);
    double hm = 0.5 * m;
    double y = rsqrt_tab[odd * 64 + ((mant >> 46) & 63)];
    y = y * (1.5 - hm * y * y);
    y = y * (1.5 - hm * y * y);
    y = y * (1.5 - hm * y * y); /* relative error ~2^-52 */
    int64_t s = (int64_t)(m * y * 0x1p52 + 0.5); /* within 5 of sqrt(N) */
    int64_t rem = as_signed(nlo - (uint64_t)s * (uint64_t)s);
    /* integer Newton step: sqrt(N) ~ s + rem / (2 sqrt(N)), error < 2^-40 */
    double d = (double)rem * (y * 0x1p-53);
    s += (int64_t)(d + 64.5) - 64;
    rem = as_signed(nlo - (uint64_t)s * (uint64_t)s);
    /* round to nearest: correct iff -s < rem <= s (no ties possible) */
    s += (rem > s) - (rem <= -s);
    uint64_t bits = (((eb + 1023) >> 1) << 52) + ((uint64_t)s - 0x0010000000000000ULL);
    double res = asf64(bits);
    return sub ? res * 0x1p-27 : res;
}

/* sqrt(x) for float, correctly rounded (error <= 0.5 ULP). Same special
 * values as vn_sqrt_d. */
float vn_sqrtf(float x) {
    uint32_t ix = asu32(x);
    int sub = 0;
    if (ix - 0x00800000u >= INF32 - 0x00800000u) {
        if ((ix << 1) == 0) return x;
        if (ix == INF32) return x;
        if ((ix & 0x7fffffffu) > INF32) return x + x;
        if (ix >> 31) return asf32(NAN32);
        ix = asu32(x * 0x1p24f);
        sub = 1;
    }
    uint32_t eb = ix >> 23;
    uint32_t mant = (ix & 0x007fffffu) | 0x00800000u;
    unsigned odd = ~eb & 1u;
    /* N = mant 2^(23+odd) < 2^48, sqrt(N) in [2^23, 2^24) */
    int64_t n = (int64_t)mant << (23 + odd);
    double m = (double)n * 0x1p-46; /* in [1, 4) */
    double hm = 0.5 * m;
    double y = rsqrt_tab[odd * 64 + ((mant >> 17) & 63)];
    y = y * (1.5 - hm * y * y);
    y = y * (1.5 - hm * y * y); /* relative error < 2^-30 */
    int64_t s = (int64_t)(m * y * 0x1p23 + 0.5);
    int64_t rem = n - s * s;
    s += (rem > s) - (rem <= -s);
    uint32_t bits = (((eb + 127) >> 1) << 23) + ((uint32_t)s - 0x00800000u);
    float res = asf32(bits);
    return sub ? res * 0x1p-12f : res;
}
