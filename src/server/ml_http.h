// SPDX-License-Identifier: MIT
// The HTTP face of the server on libmicrohttpd: a pool of threads, bounds
// on connections, request sizes and time, security headers, and the
// hand-over of each request to ml_app. No HTTP parsing of our own.
#ifndef ML_HTTP_H
#define ML_HTTP_H

#include <stdint.h>

#include "ml_app.h"

typedef struct ml_http ml_http;

typedef struct {
    const char *host;         /* an IPv4 or IPv6 address */
    uint16_t port;            /* 0: any free port */
    unsigned threads;         /* worker threads */
    unsigned max_connections; /* open; past this requests get 503 */
    unsigned max_inflight;    /* more requests at once get 503 */
} ml_http_options;

/* Starts serving app (which must outlive the server). 0, or ML_EINVAL (a
 * host that is not an address, message in why) or ML_EIO (cannot listen:
 * the port is taken, or no permission; errno tells). */
int ml_http_start(const ml_http_options *o, ml_app *app, ml_http **out,
                  char *why, size_t why_len);
/* The port it listens on (the one chosen when 0 was asked). */
uint16_t ml_http_port(const ml_http *h);
void ml_http_stop(ml_http *h);

/* 1 when host is a loopback address (127.0.0.0/8, ::1). */
int ml_http_is_loopback(const char *host);

#endif
