// SPDX-License-Identifier: MIT
// Static UI files held in memory (see ml_ui.h).
#define _GNU_SOURCE
#include "ml_ui.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ml_error.h"

#define UI_MAX_BYTES (64u << 20)
#define UI_MAX_FILES 512

typedef struct {
    char path[256]; /* "/app.js", "/assets/x.woff2" */
    char *data;
    size_t len;
    const char *type;
} ui_file;

struct ml_ui {
    ui_file *files;
    size_t n;
    size_t bytes;
};

static const char *
type_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json; charset=utf-8"},
        {".map", "application/json; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(dot, types[i].ext) == 0) {
            return types[i].type;
        }
    }
    return "application/octet-stream";
}

static int
read_file(const char *path, size_t max, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)
        || (uint64_t)st.st_size > max) {
        if (fd >= 0) {
            close(fd);
        }
        return ML_EIO;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    ssize_t got = buf ? read(fd, buf, (size_t)st.st_size) : -1;
    close(fd);
    if (got != st.st_size) {
        free(buf);
        return ML_EIO;
    }
    *data = buf;
    *len = (size_t)got;
    return ML_OK;
}

static void
load_dir(ml_ui *ui, const char *dir, const char *prefix, int depth)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL && ui->n < UI_MAX_FILES) {
        if (de->d_name[0] == '.') {
            continue;
        }
        char path[PATH_MAX], rel[256];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        int n = snprintf(rel, sizeof rel, "%s/%s", prefix, de->d_name);
        if (n < 0 || (size_t)n >= sizeof rel || lstat(path, &st) < 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode) && depth == 0) {
            load_dir(ui, path, rel, 1);
            continue;
        }
        ui_file f;
        memset(&f, 0, sizeof f);
        if (!S_ISREG(st.st_mode)
            || read_file(path, UI_MAX_BYTES - ui->bytes, &f.data, &f.len)
                   < 0) {
            continue;
        }
        ui_file *p = realloc(ui->files, (ui->n + 1) * sizeof *p);
        if (p == NULL) {
            free(f.data);
            break;
        }
        ui->files = p;
        snprintf(f.path, sizeof f.path, "%s", rel);
        f.type = type_of(de->d_name);
        ui->files[ui->n++] = f;
        ui->bytes += f.len;
    }
    closedir(d);
}

int
ml_ui_load(const char *dir, ml_ui **out)
{
    ml_ui *ui = calloc(1, sizeof *ui);
    if (ui == NULL) {
        return ML_ENOMEM;
    }
    if (dir != NULL) {
        load_dir(ui, dir, "", 0);
    }
    *out = ui;
    return ML_OK;
}

void
ml_ui_free(ml_ui *ui)
{
    if (ui == NULL) {
        return;
    }
    for (size_t i = 0; i < ui->n; i++) {
        free(ui->files[i].data);
    }
    free(ui->files);
    free(ui);
}

int
ml_ui_find(const ml_ui *ui, const char *path, const char **data, size_t *len,
           const char **type)
{
    if (strcmp(path, "/") == 0) {
        path = "/index.html";
    }
    for (size_t i = 0; i < ui->n; i++) {
        if (strcmp(ui->files[i].path, path) == 0) {
            *data = ui->files[i].data;
            *len = ui->files[i].len;
            *type = ui->files[i].type;
            return 1;
        }
    }
    return 0;
}

int
ml_ui_has_index(const ml_ui *ui)
{
    const char *d, *t;
    size_t n;
    return ml_ui_find(ui, "/index.html", &d, &n, &t);
}
