/* vn_iv_units.h — gathering a site's representation at unit locations and
 * scattering the intervened rows back, as graph ops.
 *
 * A site's tensor (B, S, h) is viewed as B·S rows of h; unit j of example b
 * at position p is row b·S + p. The intervenable model gathers the rows of
 * the examples an intervention applies to, applies the type's op, and
 * scatters the result into a *new* node — the site's tensor (and so the
 * caller's inputs) is never written.
 *
 * Both ops keep a pointer to the caller's index array (attrs.p[0]), which
 * must stay alive, unchanged, as long as the node (allocate it in the same
 * arena). */
#ifndef VN_IV_UNITS_H
#define VN_IV_UNITS_H

#include "vn_graph.h"

/* "iv_gather_units": y = rows index[0..count) of x (x viewed as rows × h,
 * h its last dimension), in the given shape (ndim 1..4, numel count·h).
 * Backward: dx[index[r]] += dy[r]. VN_ERANGE for an index past x's rows. */
extern const vn_op vn_iv_op_gather_units;
vn_node *vn_iv_gather_units(vn_context *ctx, vn_node *x, const size_t *index, size_t count, int ndim,
                            const size_t *shape);

/* "iv_scatter_units": y = x with row index[r] replaced by row r of z
 * (z has count·h elements, any shape). When an index repeats, the last row
 * written wins, as in PyTorch's indexed assignment. Backward: dx = dy on
 * the rows not replaced, dz[r] = dy[index[r]] for the rows that won.
 * VN_ERANGE for an index past x's rows. */
extern const vn_op vn_iv_op_scatter_units;
vn_node *vn_iv_scatter_units(vn_context *ctx, vn_node *x, vn_node *z, const size_t *index,
                             size_t count);

#endif
