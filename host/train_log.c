/*
 * train_log.c - progress, metrics.jsonl and the summary of a training run (see train_log.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "method.h"
#include "train_log.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void train_log_validation(void *user, const char *msg)
{
    (void)user;
    fprintf(stderr, "%s\n", msg);
}

static int mkdirs(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* Keeps the lines of metrics.jsonl whose "epoch" is <= keep (a resumed run rewrites the rest). */
static int trim_metrics(const char *path, int keep)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char *text = NULL;
    size_t len = 0, cap = 0;
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        const char *e = strstr(line, "\"epoch\":");
        if (!e || atoi(e + 8) > keep)
            continue;
        size_t n = strlen(line);
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                fclose(f);
                return -1;
            }
            text = t;
        }
        memcpy(text + len, line, n + 1);
        len += n;
    }
    fclose(f);
    f = fopen(path, "w");
    if (!f) {
        free(text);
        return -1;
    }
    if (len)
        fwrite(text, 1, len, f);
    free(text);
    return fclose(f);
}

int train_log_open(struct train_log *l, const char *out, int resume_epoch, int progress,
                   char *err, size_t errlen)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->out, sizeof(l->out), "%s", out);
    if (mkdirs(out) < 0) {
        snprintf(err, errlen, "%s: cannot create the output directory: %s", out, strerror(errno));
        return -1;
    }
    char path[1100];
    snprintf(path, sizeof(path), "%s/metrics.jsonl", out);
    if (resume_epoch > 0 && trim_metrics(path, resume_epoch) < 0) {
        snprintf(err, errlen, "%s: cannot rewrite it: %s", path, strerror(errno));
        return -1;
    }
    l->metrics = fopen(path, resume_epoch > 0 ? "a" : "w");
    if (!l->metrics) {
        snprintf(err, errlen, "%s: cannot open it for writing: %s", path, strerror(errno));
        return -1;
    }
    l->progress = progress < 0 ? isatty(STDERR_FILENO) : progress;
    l->t0 = now();
    return 0;
}

void train_log_header(struct train_log *l, const struct train_opts *o,
                      const struct vkd_device_info *d, const struct dataset *train,
                      const struct dataset *test, uint64_t weights, uint64_t macs, int steps,
                      int start_epoch)
{
    snprintf(l->device, sizeof(l->device), "%s", d->name);
    printf("device   %u: %s (%s)\n", d->index, d->name, d->driver);
    printf("data     %s: %u train / %u test images, %ux%ux%u, %u classes\n", train->source,
           train->n, test->n, train->c, train->h, train->w, train->classes);
    printf("model    %s: %.3f M parameters, %.1f MMAC per image\n", o->model, weights / 1e6,
           macs / 1e6);
    printf("recipe   %d epochs x %d steps of %d, SGD lr %g (%s), momentum %g%s, weight decay %g, "
           "seed %llu\n",
           o->epochs, steps, o->batch, o->lr,
           o->schedule == LR_COSINE ? "cosine" : "x0.1 at milestones", o->momentum,
           o->nesterov ? " Nesterov" : "", o->weight_decay, (unsigned long long)o->seed);
    if (start_epoch)
        printf("resumed  after epoch %d\n", start_epoch);
    printf("output   %s\n", l->out);
    fflush(stdout);
}

void train_log_method(struct train_log *l, const char *method, const struct kd_build *kb,
                      double teacher_top1, uint64_t teacher_weights)
{
    (void)l;
    printf("method   %s:", method);
    for (int t = 0; t < kb->n_terms; t++)
        printf(" %s%g x %s", t ? "+ " : "", kb->terms[t].weight, kb->terms[t].name);
    if (kb->extras.n_weights - kb->frozen_weights)
        printf("  (%.3f M extra trainable parameters)",
               (kb->extras.n_weights - kb->frozen_weights) / 1e6);
    if (kb->frozen_weights)
        printf("  (%.3f M extra parameters pre-trained and frozen)", kb->frozen_weights / 1e6);
    printf("\n");
    if (teacher_top1 >= 0)
        printf("teacher  %s: %.3f M parameters, test top-1 %.2f%% (measured now)\n",
               kb->teacher->arch, teacher_weights / 1e6, teacher_top1);
    fflush(stdout);
}

void train_log_pretrain_header(struct train_log *l, const char *method,
                               const struct kd_build *kb, int epochs, int steps, int batch,
                               double lr, const struct train_opts *o)
{
    (void)l;
    printf("pretrain %s, frozen teacher:", method);
    for (int t = 0; t < kb->n_terms; t++)
        printf(" %s%g x %s", t ? "+ " : "", kb->terms[t].weight, kb->terms[t].name);
    printf(" (%.3f M parameters); %d epochs x %d steps of %d, SGD lr %g cosine to 0, momentum "
           "%g%s, weight decay %g\n",
           kb->extras.n_weights / 1e6, epochs, steps, batch, lr, o->momentum,
           o->nesterov ? " Nesterov" : "", o->weight_decay);
    fflush(stdout);
}

void train_log_pretrain_epoch(struct train_log *l, int epoch, int epochs, double lr,
                              const struct kd_build *kb, const double *term,
                              const double *top1, double epoch_s, double images_per_s)
{
    train_log_end_progress(l);
    double loss = 0;
    for (int t = 0; t < kb->n_terms; t++)
        loss += kb->terms[t].weight * term[t];
    fprintf(l->metrics,
            "{\"phase\":\"pretrain\",\"epoch\":0,\"pretrain_epoch\":%d,\"lr\":%.9g,"
            "\"pretrain_loss\":%.9g,\"epoch_s\":%.3f,\"images_per_s\":%.2f",
            epoch, lr, loss, epoch_s, images_per_s);
    for (int t = 0; t < kb->n_terms; t++) {
        fprintf(l->metrics, ",\"loss_%s\":%.9g", kb->terms[t].name, term[t]);
        if (top1[t] >= 0)
            fprintf(l->metrics, ",\"top1_%s\":%.6g", kb->terms[t].name, top1[t]);
    }
    fprintf(l->metrics, "}\n");
    fflush(l->metrics);
    printf("pretrain %3d/%d  lr %.5f ", epoch, epochs, lr);
    for (int t = 0; t < kb->n_terms; t++) {
        printf(" %s %.4f", kb->terms[t].name, term[t]);
        if (top1[t] >= 0)
            printf(" (acc %.2f%%)", top1[t]);
    }
    printf("  %.1f s  %.0f img/s\n", epoch_s, images_per_s);
    fflush(stdout);
}

void train_log_progress(struct train_log *l, int epoch, int epochs, int step, int steps,
                        double loss, double top1, double images_per_s, double eta_s)
{
    if (!l->progress)
        return;
    double t = now();
    if (step != steps && t - l->last_draw < 0.2)
        return;
    l->last_draw = t;
    char bar[21];
    int fill = steps ? 20 * step / steps : 20;
    for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[20] = '\0';
    fprintf(stderr, "\r%s %d/%d [%s] %d/%d  loss %.4f  acc %.2f%%  %.0f img/s  ETA %d:%02d ",
            l->bar_label ? l->bar_label : "epoch", epoch, epochs, bar, step, steps, loss, top1,
            images_per_s, (int)eta_s / 60, (int)eta_s % 60);
    l->drawn = 1;
}

void train_log_end_progress(struct train_log *l)
{
    if (l->drawn)
        fprintf(stderr, "\r%*s\r", 110, "");
    l->drawn = 0;
}

void train_log_epoch(struct train_log *l, const struct epoch_metrics *m)
{
    train_log_end_progress(l);
    l->train_s += m->epoch_s;
    l->images += m->images_per_s * m->epoch_s;
    l->epochs++;
    l->last = *m;
    fprintf(l->metrics,
            "{\"epoch\":%d,\"lr\":%.9g,\"train_loss\":%.9g,\"train_top1\":%.6g,"
            "\"epoch_s\":%.3f,\"images_per_s\":%.2f",
            m->epoch, m->lr, m->train_loss, m->train_top1, m->epoch_s, m->images_per_s);
    for (int t = 0; t < m->n_terms; t++)
        fprintf(l->metrics, ",\"loss_%s\":%.9g", m->term_name[t], m->term[t]);
    if (m->evaluated)
        fprintf(l->metrics, ",\"test_loss\":%.9g,\"test_top1\":%.6g,\"test_top5\":%.6g",
                m->test_loss, m->test_top1, m->test_top5);
    fprintf(l->metrics, "}\n");
    fflush(l->metrics);
    printf("epoch %3d  lr %.5f  train loss %.4f", m->epoch, m->lr, m->train_loss);
    if (m->n_terms > 1)
        for (int t = 0; t < m->n_terms; t++)
            printf("%s%s %.4f", t ? " " : " (", m->term_name[t], m->term[t]);
    printf("%s acc %6.2f%%", m->n_terms > 1 ? ")" : "", m->train_top1);
    if (m->evaluated)
        printf("  test loss %.4f top-1 %6.2f%% top-5 %6.2f%%", m->test_loss, m->test_top1,
               m->test_top5);
    printf("  %.1f s  %.0f img/s\n", m->epoch_s, m->images_per_s);
    fflush(stdout);
}

/* summary.json: one object, for scripts (tools/results.sh) that tabulate runs. */
static void write_summary_json(const struct train_log *l, double best_top1, int best_epoch,
                               double wall, double mib)
{
    char path[1100], tmp[1110], dev[256];
    size_t k = 0;
    for (const char *c = l->device; *c && k + 1 < sizeof(dev); c++)
        if (*c != '"' && *c != '\\')
            dev[k++] = *c;
    dev[k] = '\0';
    snprintf(path, sizeof(path), "%s/summary.json", l->out);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f,
            "{\"best_top1\":%.4f,\"best_epoch\":%d,\"last_top1\":%.4f,\"last_top5\":%.4f,"
            "\"last_epoch\":%d,\"wall_s\":%.1f,\"train_s\":%.1f,\"images_per_s\":%.1f,"
            "\"device_memory_mib\":%.1f,\"device\":\"%s\"}\n",
            best_top1, best_epoch, l->last.test_top1, l->last.test_top5, l->last.epoch, wall,
            l->train_s, l->train_s > 0 ? l->images / l->train_s : 0, mib, dev);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        unlink(tmp);
}

void train_log_summary(struct train_log *l, double best_top1, int best_epoch,
                       uint64_t device_bytes, int step_parts)
{
    double wall = now() - l->t0, mib = (double)device_bytes / (1 << 20);
    printf("\n  %-22s %.2f%% (epoch %d)\n", "best test top-1", best_top1, best_epoch);
    if (l->last.evaluated)
        printf("  %-22s %.2f%% top-1, %.2f%% top-5 (epoch %d)\n", "last test", l->last.test_top1,
               l->last.test_top5, l->last.epoch);
    printf("  %-22s %d:%02d:%02d (%.1f s training, %.1f s other)\n", "time", (int)wall / 3600,
           (int)wall / 60 % 60, (int)wall % 60, l->train_s, wall - l->train_s);
    printf("  %-22s %.0f\n", "training images/s", l->train_s > 0 ? l->images / l->train_s : 0);
    if (step_parts > 1)
        printf("  %-22s %.1f MiB (the step interleaved over %d gradient parts)\n",
               "device memory", mib, step_parts);
    else
        printf("  %-22s %.1f MiB\n", "device memory", mib);
    printf("  %-22s %s\n", "device", l->device);
    printf("  %-22s %s/last.safetensors, best.safetensors, metrics.jsonl, summary.json\n",
           "written", l->out);
    fflush(stdout);
    write_summary_json(l, best_top1, best_epoch, wall, mib);
}

void train_log_close(struct train_log *l)
{
    if (l->metrics)
        fclose(l->metrics);
    l->metrics = NULL;
}
