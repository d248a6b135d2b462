/*
 * schedule.c - a training step's forward and backward calls interleaved, so that a part of the
 * graph whose gradients are its own runs its backward as soon as its forward is done.
 *
 * graph.c derives the backward list from the forward list in reverse, so the plain step runs
 * every forward call, then every backward call: every activation a backward reads lives until
 * the end of the whole forward. When the gradients fall into independent parts (a student cut
 * into modules by stop-gradients, as LAKD does: no gradient crosses a cut), part k's backward
 * can run right after the forward calls it needs, and what only part k reads dies there, before
 * the next module's forward; the planner (plan.c), placing by lifetimes on this order, then holds
 * about one module's activations at a time instead of all of them.
 *
 * The parts: backward calls joined by the gradient tensors they touch (union-find; a parameter's
 * gradient counts as itself, not as the flat gradient it is a view of, which SGD alone reads
 * whole). Parts are taken in the order of their earliest forward node. A forward call's "home"
 * is the first part that needs it (an ancestor, in the forward graph, of one of the part's
 * nodes); a forward call no part needs goes with the latest home among the calls it depends on.
 * The step is then, part by part: its home forward calls in forward order, then its backward
 * calls in backward order.
 *
 * No result changes by a bit: a forward call computes the same values whenever its inputs are
 * ready, every gradient is touched by the calls of one part only, and those keep graph.c's order
 * (so its overwrite-then-add order too). tests/test_plan.c checks it bit for bit. A graph of one
 * part (KD, ICKD, ... all gradients meet in the student) gets the plain order back.
 *
 * Dependencies between forward calls: a call depends on the writer of every tensor it reads.
 * That is the whole story when activations are written once, no forward call reads a gradient,
 * and the state a forward call may update in place (batch norm's running statistics, listed
 * among its inputs) belongs to that one call, so no other call, forward or backward, sees it
 * change. A graph outside these rules keeps the plain order.
 */
#include <stdlib.h>

#include "internal.h"

static int root_of(const struct vkd_graph *g, int t)
{
    while (vkd_graph_tensor_at(g, t)->parent >= 0)
        t = vkd_graph_tensor_at(g, t)->parent;
    return t;
}

static int find(int *p, int x)
{
    while (p[x] != x)
        x = p[x] = p[p[x]];
    return x;
}

struct sched {
    const struct vkd_graph *g;
    int nt;
    int nf, nb;               /* phase-0 forward calls, backward calls */
    const struct vkd_call *f; /* forward list (all phases; fpos maps nodes to phase-0 order) */
    const struct vkd_call *b; /* backward list */
    int *fnode;               /* per phase-0 forward position: its node */
    int *fpos;                /* per node: its phase-0 forward position, -1 */
    int *dep, *dep_start;     /* per forward position: the positions it depends on (CSR) */
    int *uf;                  /* union-find over tensors (gradient keys) */
    int *part;                /* per backward call: its part (a union-find root) */
};

/* The key a gradient tensor joins parts by: its root, but a parameter's gradient (a view of the
 * flat gradient) is its own key. */
static int grad_key(const struct sched *s, int gt, int flat_grad)
{
    int r = root_of(s->g, gt);
    return r == flat_grad ? gt : r;
}

/* The forward dependency lists (CSR). Returns 0, or -1 when the graph is outside the rules. */
static int forward_deps(struct sched *s)
{
    int *writer = malloc(sizeof(int) * (size_t)s->nt);
    int cap = 16, n = 0, rc = 0;
    s->dep = malloc(sizeof(int) * (size_t)cap);
    s->dep_start = malloc(sizeof(int) * (size_t)(s->nf + 1));
    VKD_ASSERT(writer && s->dep && s->dep_start);
    for (int i = 0; i < s->nt; i++)
        writer[i] = -1;
    for (int q = 0; q < s->nf && rc == 0; q++) {
        const struct vkd_node *node = vkd_graph_node(s->g, s->fnode[q]);
        s->dep_start[q] = n;
        for (int k = 0; k < node->n_in + node->n_out && rc == 0; k++) {
            int is_in = k < node->n_in, t = is_in ? node->in[k] : node->out[k - node->n_in];
            if (t < 0)
                continue;
            int r = root_of(s->g, t);
            enum vkd_tkind kind = vkd_graph_tensor_at(s->g, r)->kind;
            int state = kind == VKD_T_STATE || kind == VKD_T_OPT;
            if (is_in && kind == VKD_T_GRAD)
                rc = -1; /* a forward call reading a gradient (scratch outputs are fine) */
            else if ((state || !is_in) && writer[r] >= 0 && writer[r] != q)
                rc = -1; /* an activation written twice, or state two calls touch (corsd's
                          * relation networks: one batch norm for anchor, positive, negative) */
            else if (state || !is_in)
                writer[r] = q;
            else if (writer[r] >= 0) {
                if (n == cap) {
                    cap *= 2;
                    s->dep = realloc(s->dep, sizeof(int) * (size_t)cap);
                    VKD_ASSERT(s->dep);
                }
                s->dep[n++] = writer[r];
            }
        }
    }
    s->dep_start[s->nf] = n;
    free(writer);
    return rc;
}

/* Joins backward calls into parts by the gradients they touch. */
static void parts(struct sched *s)
{
    int flat_grad = -1;
    for (int i = 0; i < s->nt && flat_grad < 0; i++) {
        const struct vkd_tensor *t = vkd_graph_tensor_at(s->g, i);
        if (t->kind == VKD_T_PARAM && t->grad >= 0)
            flat_grad = root_of(s->g, t->grad);
    }
    /* one element per tensor key, then one per backward call (a call touching no gradient) */
    s->uf = malloc(sizeof(int) * (size_t)(s->nt + s->nb));
    s->part = malloc(sizeof(int) * (size_t)(s->nb ? s->nb : 1));
    VKD_ASSERT(s->uf && s->part);
    for (int i = 0; i < s->nt + s->nb; i++)
        s->uf[i] = i;
    for (int c = 0; c < s->nb; c++) {
        const struct vkd_node *node = vkd_graph_node(s->g, s->b[c].node);
        int first = s->nt + c;
        for (int k = 0; k < node->n_in + node->n_out; k++) {
            int is_in = k < node->n_in, t = is_in ? node->in[k] : node->out[k - node->n_in];
            int gt = -1;
            if (t < 0)
                continue;
            if (s->b[c].pass == 0) /* a seed or zero fill: its output is a gradient */
                gt = !is_in ? t : -1;
            else if (is_in && !(node->op->const_in & (1u << k)))
                gt = vkd_graph_tensor_at(s->g, t)->grad;
            else if (!is_in && (node->op->diff_out & (1u << (k - node->n_in))))
                gt = vkd_graph_tensor_at(s->g, t)->grad;
            if (gt < 0)
                continue;
            int a = find(s->uf, first), b = find(s->uf, grad_key(s, gt, flat_grad));
            if (a != b)
                s->uf[a] = b;
        }
    }
    for (int c = 0; c < s->nb; c++)
        s->part[c] = find(s->uf, s->nt + c);
}

/* Marks position p and its ancestors without a home with home h (iteratively). */
static void claim(const struct sched *s, int p, int h, int *home, int *stack)
{
    int top = 0;
    if (home[p] >= 0)
        return;
    home[p] = h;
    stack[top++] = p;
    while (top) {
        int q = stack[--top];
        for (int k = s->dep_start[q]; k < s->dep_start[q + 1]; k++) {
            int d = s->dep[k];
            if (home[d] < 0) {
                home[d] = h;
                stack[top++] = d;
            }
        }
    }
}

/* Stable counting sort: the indices 0..n-1 ordered by key[] (0..n_keys-1) into sorted. */
static void by_key(const int *key, int n, int n_keys, int *sorted)
{
    int *start = calloc((size_t)n_keys + 1, sizeof(int));
    VKD_ASSERT(start);
    for (int i = 0; i < n; i++)
        start[key[i] + 1]++;
    for (int k = 0; k < n_keys; k++)
        start[k + 1] += start[k];
    for (int i = 0; i < n; i++)
        sorted[start[key[i]]++] = i;
    free(start);
}

/* The step's order into out (nf + nb calls). Returns the number of parts (1: plain order). */
static int interleave(struct sched *s, struct vkd_call *out)
{
    int nk = 0, n = 0, nu = s->nt + s->nb;
    int *first_pos = malloc(sizeof(int) * (size_t)nu), *index = malloc(sizeof(int) * (size_t)nu);
    int *order = malloc(sizeof(int) * (size_t)(s->nb + 1));
    int *bkey = malloc(sizeof(int) * (size_t)(s->nb + 1)),
        *bsorted = malloc(sizeof(int) * (size_t)(s->nb + 1));
    int *home = malloc(sizeof(int) * (size_t)(s->nf + 1)),
        *fsorted = malloc(sizeof(int) * (size_t)(s->nf + 1));
    int *stack = malloc(sizeof(int) * (size_t)(s->nf + 1));
    VKD_ASSERT(first_pos && index && order && bkey && bsorted && home && fsorted && stack);
    /* parts in order of their earliest forward node (seeds and fills have none) */
    for (int i = 0; i < nu; i++)
        first_pos[i] = s->nf, index[i] = -1;
    for (int c = 0; c < s->nb; c++) {
        int p = s->b[c].pass ? s->fpos[s->b[c].node] : s->nf;
        if (index[s->part[c]] < 0)
            index[s->part[c]] = nk, order[nk++] = s->part[c];
        if (p < first_pos[s->part[c]])
            first_pos[s->part[c]] = p;
    }
    for (int i = 1; i < nk; i++) /* insertion sort, stable: parts are few */
        for (int j = i; j > 0 && first_pos[order[j - 1]] > first_pos[order[j]]; j--) {
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    for (int k = 0; k < nk; k++)
        index[order[k]] = k;
    for (int c = 0; c < s->nb; c++)
        bkey[c] = index[s->part[c]];
    by_key(bkey, s->nb, nk, bsorted);
    /* homes: the first part that needs a forward call, else the latest home of its inputs */
    for (int p = 0; p < s->nf; p++)
        home[p] = -1;
    for (int i = 0; i < s->nb; i++) {
        int c = bsorted[i];
        if (s->b[c].pass)
            claim(s, s->fpos[s->b[c].node], bkey[c], home, stack);
    }
    for (int p = 0; p < s->nf; p++) {
        if (home[p] >= 0)
            continue;
        home[p] = 0;
        for (int k = s->dep_start[p]; k < s->dep_start[p + 1]; k++)
            if (home[s->dep[k]] > home[p])
                home[p] = home[s->dep[k]];
    }
    by_key(home, s->nf, nk ? nk : 1, fsorted);
    /* part by part: its home forward calls, then its backward calls, each in their list order */
    for (int k = 0, fi = 0, bi = 0; k < (nk ? nk : 1); k++) {
        for (; fi < s->nf && home[fsorted[fi]] == k; fi++)
            out[n++] = (struct vkd_call){s->fnode[fsorted[fi]], 0};
        for (; bi < s->nb && bkey[bsorted[bi]] == k; bi++)
            out[n++] = s->b[bsorted[bi]];
    }
    VKD_ASSERT(n == s->nf + s->nb);
    free(first_pos), free(index), free(order), free(bkey), free(bsorted), free(home), free(fsorted);
    free(stack);
    return nk ? nk : 1;
}

int vkd_schedule_step(const struct vkd_graph *g, struct vkd_call **out, int *n_out)
{
    struct sched s = {.g = g, .nt = vkd_graph_tensor_count(g)};
    int n_all = vkd_graph_list(g, 0, &s.f), n_nodes = 0;
    s.nb = vkd_graph_list(g, 1, &s.b);
    for (int i = 0; i < n_all; i++)
        n_nodes = s.f[i].node + 1 > n_nodes ? s.f[i].node + 1 : n_nodes;
    for (int i = 0; i < s.nb; i++)
        n_nodes = s.b[i].node + 1 > n_nodes ? s.b[i].node + 1 : n_nodes;
    s.fnode = malloc(sizeof(int) * (size_t)(n_all ? n_all : 1));
    s.fpos = malloc(sizeof(int) * (size_t)(n_nodes ? n_nodes : 1));
    *out = malloc(sizeof(**out) * (size_t)(n_all + s.nb ? n_all + s.nb : 1));
    VKD_ASSERT(s.fnode && s.fpos && *out);
    for (int i = 0; i < n_nodes; i++)
        s.fpos[i] = -1;
    for (int i = 0; i < n_all; i++)
        if (vkd_graph_node(g, s.f[i].node)->phase == 0)
            s.fpos[s.f[i].node] = s.nf, s.fnode[s.nf++] = s.f[i].node;
    int n_parts = 1;
    if (forward_deps(&s) == 0) {
        parts(&s);
        n_parts = interleave(&s, *out);
    } else {
        for (int p = 0; p < s.nf; p++)
            (*out)[p] = (struct vkd_call){s.fnode[p], 0};
        for (int c = 0; c < s.nb; c++)
            (*out)[s.nf + c] = s.b[c];
    }
    *n_out = s.nf + s.nb;
    free(s.fnode), free(s.fpos), free(s.dep), free(s.dep_start), free(s.uf), free(s.part);
    return n_parts;
}
