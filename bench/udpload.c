/*
 * udpload: a closed-loop load generator (and trivial echo responders) for idnode benchmarks.
 *
 * Compiled at run time by bench/bench_node.py with `cc -O2`; it talks to 127.0.0.1 only.
 *
 *   udpload udp-load HOST PORT REQFILE [options]   UDP: W lanes over S sockets
 *   udpload tcp-load HOST PORT REQFILE [options]   TCP: W lanes over C connections, pipelined
 *   udpload udp-echo HOST PORT [--max-seconds N]   echo every datagram back (RC set to 1)
 *   udpload tcp-echo HOST PORT [--max-seconds N]   echo every frame back (RC set to 1)
 *
 * REQFILE holds pre-encoded request frames, each preceded by a big-endian uint16 length.
 * Byte 8..11 of a frame (the envelope's request id) is overwritten per request.
 *
 * Load model: W "lanes", each with exactly one request outstanding (a closed loop, like W
 * clients). Lane L uses socket/connection L % S. The request id is (counter << 12) | L, so an
 * answer finds its lane without a table; a late answer to a timed-out request has a stale id
 * and is counted as "stale", never as a success. A lane whose request is outstanding longer
 * than --timeout-ms counts a timeout and sends a new request.
 *
 * Phases: --warmup seconds (nothing recorded), then --duration seconds or --max-requests
 * answers, whichever comes first; --hard-limit bounds the whole run. "measure-start" and
 * "measure-end" are printed (flushed) at the phase edges so a supervisor can sample CPU
 * counters; the last line is a JSON object with counts, latency percentiles, a sparse
 * latency histogram (microseconds) and this process's CPU time during the measured phase.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LANE_BITS 12
#define MAX_LANES (1 << LANE_BITS)
#define MAX_SOCKS 1024
#define BATCH 64
#define HIST_US 200000 /* 1-us buckets up to 200 ms; above goes to the overflow bucket */
#define MAX_FRAME 65536
#define ECHO_FDS 256

typedef struct {
    uint32_t id;
    int busy;
    uint64_t sent_ns;
} Lane;

typedef struct {
    int fd;
    /* TCP only */
    unsigned char *in;
    size_t in_len;
    unsigned char *out;
    size_t out_len;
    size_t out_cap;
    int want_out;
} Conn;

static const char *g_mode;
static unsigned char **g_req;
static uint16_t *g_req_len;
static size_t g_nreq;
static Lane g_lanes[MAX_LANES];
static Conn g_conns[MAX_SOCKS];
static int g_nlanes = 64, g_nsocks = 16;
static double g_warmup = 1.0, g_duration = 10.0, g_hard = 0.0;
static long long g_max_requests = 0;
static int g_timeout_ms = 1000;
static int g_expect_rc = 1;
static uint64_t g_counter = 1;
static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static volatile sig_atomic_t g_stop = 0;

/* measured-phase statistics */
static int g_measuring = 0;
static uint64_t *g_hist;
static uint64_t g_overflow = 0, g_max_ns = 0;
static long long g_ok = 0, g_bad_rc = 0, g_timeouts = 0, g_stale = 0, g_sent = 0;
static long long g_rc_counts[8][2]; /* first few unexpected codes */
static long long g_warm_ok = 0;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static void die(const char *what) {
    perror(what);
    exit(2);
}

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void load_requests(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) die("open request file");
    size_t cap = 1024;
    g_req = malloc(cap * sizeof *g_req);
    g_req_len = malloc(cap * sizeof *g_req_len);
    unsigned char lenb[2];
    while (fread(lenb, 1, 2, f) == 2) {
        uint16_t len = (uint16_t)((lenb[0] << 8) | lenb[1]);
        if (len < 20) { fprintf(stderr, "bad frame length %u\n", len); exit(2); }
        if (g_nreq == cap) {
            cap *= 2;
            g_req = realloc(g_req, cap * sizeof *g_req);
            g_req_len = realloc(g_req_len, cap * sizeof *g_req_len);
        }
        g_req[g_nreq] = malloc(len);
        if (fread(g_req[g_nreq], 1, len, f) != len) { fprintf(stderr, "short request file\n"); exit(2); }
        g_req_len[g_nreq] = len;
        g_nreq++;
    }
    fclose(f);
    if (g_nreq == 0) { fprintf(stderr, "no requests in %s\n", path); exit(2); }
}

static struct sockaddr_in make_addr(const char *host, int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) { fprintf(stderr, "bad host %s\n", host); exit(2); }
    /* Network safety: loopback only. */
    if ((ntohl(a.sin_addr.s_addr) >> 24) != 127) { fprintf(stderr, "refusing non-loopback %s\n", host); exit(2); }
    return a;
}

static void set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl");
}

static uint32_t next_id(int lane) {
    uint32_t id = (uint32_t)(((g_counter++ << LANE_BITS) | (uint64_t)lane) & 0x7FFFFFFFu);
    if (id == 0) id = (uint32_t)(((g_counter++ << LANE_BITS) | (uint64_t)lane) & 0x7FFFFFFFu);
    return id;
}

/* Pick a request for `lane`, stamp its id into buf (a copy); return its length. */
static size_t prepare(int lane, unsigned char *buf, uint64_t t) {
    size_t k = (size_t)(rnd() % g_nreq);
    size_t len = g_req_len[k];
    memcpy(buf, g_req[k], len);
    uint32_t id = next_id(lane);
    uint32_t be = htonl(id);
    memcpy(buf + 8, &be, 4);
    g_lanes[lane].id = id;
    g_lanes[lane].busy = 1;
    g_lanes[lane].sent_ns = t;
    if (g_measuring) g_sent++;
    return len;
}

static void record(uint64_t lat_ns) {
    uint64_t us = lat_ns / 1000;
    if (us < HIST_US) g_hist[us]++;
    else g_overflow++;
    if (lat_ns > g_max_ns) g_max_ns = lat_ns;
}

/* An answer frame arrived: match it to its lane. Returns the lane to refill, or -1. */
static int on_answer(const unsigned char *p, size_t len, uint64_t t) {
    if (len < 28) { if (g_measuring) g_stale++; return -1; }
    uint32_t id, rc;
    memcpy(&id, p + 8, 4);
    memcpy(&rc, p + 24, 4);
    id = ntohl(id);
    rc = ntohl(rc);
    int lane = (int)(id & (MAX_LANES - 1));
    if (lane >= g_nlanes || !g_lanes[lane].busy || g_lanes[lane].id != id) {
        if (g_measuring) g_stale++;
        return -1;
    }
    g_lanes[lane].busy = 0;
    if (g_measuring) {
        if (g_expect_rc >= 0 && (int)rc != g_expect_rc) {
            g_bad_rc++;
            for (int i = 0; i < 8; i++) {
                if (g_rc_counts[i][1] == 0 || g_rc_counts[i][0] == (long long)rc) {
                    g_rc_counts[i][0] = rc;
                    g_rc_counts[i][1]++;
                    break;
                }
            }
        } else {
            g_ok++;
        }
        record(t - g_lanes[lane].sent_ns);
    } else {
        g_warm_ok++;
    }
    return lane;
}

static double pct(double q, uint64_t total) {
    if (total == 0) return 0.0;
    uint64_t want = (uint64_t)(q * (double)total);
    if (want >= total) want = total - 1;
    uint64_t seen = 0;
    for (int i = 0; i < HIST_US; i++) {
        seen += g_hist[i];
        if (seen > want) return (double)i + 0.5;
    }
    return (double)g_max_ns / 1000.0;
}

static double tv(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; }

static void report(double seconds, struct rusage *r0, struct rusage *r1) {
    uint64_t total = g_overflow;
    for (int i = 0; i < HIST_US; i++) total += g_hist[i];
    printf("{\"mode\": \"%s\", \"seconds\": %.6f, \"ok\": %lld, \"bad_rc\": %lld, "
           "\"timeouts\": %lld, \"stale\": %lld, \"sent\": %lld, \"warmup_ok\": %lld, "
           "\"lanes\": %d, \"sockets\": %d, ",
           g_mode, seconds, g_ok, g_bad_rc, g_timeouts, g_stale, g_sent, g_warm_ok,
           g_nlanes, g_nsocks);
    printf("\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, \"p999_us\": %.1f, "
           "\"max_us\": %.1f, ",
           pct(0.50, total), pct(0.90, total), pct(0.99, total), pct(0.999, total),
           (double)g_max_ns / 1000.0);
    printf("\"cpu_user\": %.4f, \"cpu_sys\": %.4f, ",
           tv(r1->ru_utime) - tv(r0->ru_utime), tv(r1->ru_stime) - tv(r0->ru_stime));
    printf("\"bad_codes\": {");
    int first = 1;
    for (int i = 0; i < 8; i++) {
        if (g_rc_counts[i][1]) {
            printf("%s\"%lld\": %lld", first ? "" : ", ", g_rc_counts[i][0], g_rc_counts[i][1]);
            first = 0;
        }
    }
    printf("}, \"hist\": [");
    first = 1;
    for (int i = 0; i < HIST_US; i++) {
        if (g_hist[i]) {
            printf("%s[%d, %llu]", first ? "" : ", ", i, (unsigned long long)g_hist[i]);
            first = 0;
        }
    }
    if (g_overflow) printf("%s[%d, %llu]", first ? "" : ", ", HIST_US, (unsigned long long)g_overflow);
    printf("]}\n");
    fflush(stdout);
}

/* ---- UDP load ------------------------------------------------------------------------ */

static unsigned char g_sendbuf[BATCH][MAX_FRAME > 2048 ? 2048 : MAX_FRAME];
static unsigned char g_recvbuf[BATCH][2048];

static void udp_send_lanes(int sock_i, int *lanes, int n, uint64_t t) {
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    int fd = g_conns[sock_i].fd;
    for (int off = 0; off < n; off += BATCH) {
        int m = n - off < BATCH ? n - off : BATCH;
        for (int i = 0; i < m; i++) {
            size_t len = prepare(lanes[off + i], g_sendbuf[i], t);
            iov[i].iov_base = g_sendbuf[i];
            iov[i].iov_len = len;
            memset(&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int done = 0;
        while (done < m) {
            int r = sendmmsg(fd, msgs + done, (unsigned)(m - done), 0);
            if (r < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == ECONNREFUSED || errno == ENOBUFS) {
                    /* Dropped: the lane stays busy and will time out. */
                    break;
                }
                die("sendmmsg");
            }
            done += r;
        }
    }
}

static void check_timeouts(uint64_t t, void (*resend)(int lane, uint64_t t)) {
    uint64_t limit = (uint64_t)g_timeout_ms * 1000000ull;
    for (int l = 0; l < g_nlanes; l++) {
        if (g_lanes[l].busy && t - g_lanes[l].sent_ns > limit) {
            if (g_measuring) g_timeouts++;
            g_lanes[l].busy = 0;
            resend(l, t);
        }
    }
}

static void udp_resend(int lane, uint64_t t) {
    int lanes[1] = {lane};
    udp_send_lanes(lane % g_nsocks, lanes, 1, t);
}

static int run_phases(int ep, void (*on_readable)(int idx, uint64_t t),
                      void (*resend)(int lane, uint64_t t), void (*on_writable)(int idx)) {
    struct rusage r0, r1;
    memset(&r0, 0, sizeof r0);
    memset(&r1, 0, sizeof r1);
    uint64_t start = now_ns();
    uint64_t warm_end = start + (uint64_t)(g_warmup * 1e9);
    uint64_t meas_end = 0, meas_start = 0;
    uint64_t hard_end = g_hard > 0 ? start + (uint64_t)(g_hard * 1e9) : UINT64_MAX;
    uint64_t last_scan = start;
    struct epoll_event evs[256];
    if (g_warmup <= 0) {
        g_measuring = 1;
        meas_start = start;
        meas_end = start + (uint64_t)(g_duration * 1e9);
        getrusage(RUSAGE_SELF, &r0);
        printf("measure-start\n");
        fflush(stdout);
    }
    for (;;) {
        int n = epoll_wait(ep, evs, 256, 5);
        if (n < 0) {
            if (errno == EINTR) { if (g_stop) break; continue; }
            die("epoll_wait");
        }
        uint64_t t = now_ns();
        for (int i = 0; i < n; i++) {
            int idx = (int)evs[i].data.u32;
            if (evs[i].events & EPOLLOUT && on_writable) on_writable(idx);
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(idx, t);
        }
        t = now_ns();
        if (t - last_scan > 5000000ull) {
            check_timeouts(t, resend);
            last_scan = t;
        }
        if (!g_measuring && t >= warm_end) {
            g_measuring = 1;
            meas_start = t;
            meas_end = t + (uint64_t)(g_duration * 1e9);
            getrusage(RUSAGE_SELF, &r0);
            printf("measure-start\n");
            fflush(stdout);
        }
        if (g_measuring && (t >= meas_end || (g_max_requests > 0 && g_ok + g_bad_rc >= g_max_requests)))
            break;
        if (g_stop || t >= hard_end) break;
    }
    uint64_t end = now_ns();
    getrusage(RUSAGE_SELF, &r1);
    printf("measure-end\n");
    fflush(stdout);
    if (!g_measuring) { meas_start = end; }
    report((double)(end - meas_start) / 1e9, &r0, &r1);
    return 0;
}

static void udp_readable(int idx, uint64_t t) {
    (void)t;
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    int refill[BATCH];
    int fd = g_conns[idx].fd;
    /* At most two batches per wake-up (epoll is level-triggered): one busy socket must not
     * starve the lanes of the others. */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = g_recvbuf[i];
            iov[i].iov_len = sizeof g_recvbuf[i];
            memset(&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int r = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == ECONNREFUSED) return;
            die("recvmmsg");
        }
        if (r == 0) return;
        uint64_t now = now_ns();
        int k = 0;
        for (int i = 0; i < r; i++) {
            int lane = on_answer(g_recvbuf[i], msgs[i].msg_len, now);
            if (lane >= 0) refill[k++] = lane;
        }
        if (k) udp_send_lanes(idx, refill, k, now_ns());
        if (r < BATCH) return;
    }
}

static int udp_load(const char *host, int port) {
    struct sockaddr_in a = make_addr(host, port);
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    for (int s = 0; s < g_nsocks; s++) {
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0) die("socket");
        int buf = 4 * 1024 * 1024;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
        set_nonblock(fd);
        g_conns[s].fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)s};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
    }
    /* Start every lane. */
    int *lanes = malloc(sizeof(int) * (size_t)g_nlanes);
    for (int s = 0; s < g_nsocks; s++) {
        int k = 0;
        for (int l = s; l < g_nlanes; l += g_nsocks) lanes[k++] = l;
        udp_send_lanes(s, lanes, k, now_ns());
    }
    free(lanes);
    return run_phases(ep, udp_readable, udp_resend, NULL);
}

/* ---- TCP load ------------------------------------------------------------------------ */

static int g_ep;

static void tcp_queue(int ci, int lane, uint64_t t) {
    Conn *c = &g_conns[ci];
    if (c->out_len + MAX_FRAME > c->out_cap) {
        c->out_cap = (c->out_len + MAX_FRAME) * 2;
        c->out = realloc(c->out, c->out_cap);
    }
    c->out_len += prepare(lane, c->out + c->out_len, t);
}

static void tcp_flush(int ci) {
    Conn *c = &g_conns[ci];
    size_t done = 0;
    while (done < c->out_len) {
        ssize_t r = write(c->fd, c->out + done, c->out_len - done);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            die("write");
        }
        done += (size_t)r;
    }
    memmove(c->out, c->out + done, c->out_len - done);
    c->out_len -= done;
    int want = c->out_len > 0;
    if (want != c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.u32 = (uint32_t)ci};
        epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->want_out = want;
    }
}

static void tcp_writable(int ci) { tcp_flush(ci); }

static void tcp_resend(int lane, uint64_t t) {
    int ci = lane % g_nsocks;
    tcp_queue(ci, lane, t);
    tcp_flush(ci);
}

static void tcp_readable(int ci, uint64_t t) {
    (void)t;
    Conn *c = &g_conns[ci];
    for (;;) {
        if (c->in_len == 4 * MAX_FRAME) { fprintf(stderr, "frame too large\n"); exit(2); }
        ssize_t r = read(c->fd, c->in + c->in_len, 4 * MAX_FRAME - c->in_len);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            die("read");
        }
        if (r == 0) { fprintf(stderr, "server closed connection %d\n", ci); g_stop = 1; return; }
        c->in_len += (size_t)r;
        uint64_t now = now_ns();
        size_t pos = 0;
        while (c->in_len - pos >= 20) {
            uint32_t mlen;
            memcpy(&mlen, c->in + pos + 16, 4);
            mlen = ntohl(mlen);
            if (mlen > 4 * MAX_FRAME - 20) { fprintf(stderr, "bad frame length %u\n", mlen); exit(2); }
            if (c->in_len - pos < 20 + (size_t)mlen) break;
            int lane = on_answer(c->in + pos, 20 + (size_t)mlen, now);
            if (lane >= 0) tcp_queue(ci, lane, now);
            pos += 20 + (size_t)mlen;
        }
        memmove(c->in, c->in + pos, c->in_len - pos);
        c->in_len -= pos;
        if ((size_t)r < 4 * MAX_FRAME - c->in_len) break;
    }
    if (c->out_len) tcp_flush(ci);
}

static int tcp_load(const char *host, int port) {
    struct sockaddr_in a = make_addr(host, port);
    g_ep = epoll_create1(0);
    if (g_ep < 0) die("epoll_create1");
    for (int s = 0; s < g_nsocks; s++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) die("socket");
        if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        set_nonblock(fd);
        Conn *c = &g_conns[s];
        c->fd = fd;
        c->in = malloc(4 * MAX_FRAME);
        c->out_cap = 4 * MAX_FRAME;
        c->out = malloc(c->out_cap);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)s};
        if (epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
    }
    uint64_t t = now_ns();
    for (int l = 0; l < g_nlanes; l++) tcp_queue(l % g_nsocks, l, t);
    for (int s = 0; s < g_nsocks; s++) tcp_flush(s);
    return run_phases(g_ep, tcp_readable, tcp_resend, tcp_writable);
}

/* ---- echo responders ----------------------------------------------------------------- */

static void echo_deadline(double max_seconds) {
    if (max_seconds > 0) alarm((unsigned)(max_seconds + 0.999));
}

static int udp_echo(const char *host, int port, double max_seconds) {
    struct sockaddr_in a = make_addr(host, port);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) die("socket");
    int buf = 4 * 1024 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    printf("listening udp %s:%d\n", host, ntohs(a.sin_port));
    fflush(stdout);
    echo_deadline(max_seconds);
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_in peers[BATCH];
    static unsigned char bufs[BATCH][2048];
    uint32_t one = htonl(1);
    long long answered = 0;
    while (!g_stop) {
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = sizeof bufs[i];
            memset(&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &peers[i];
            msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
        }
        int r = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
        if (r < 0) {
            if (errno == EINTR) continue; /* the loop condition sees g_stop */
            die("recvmmsg");
        }
        for (int i = 0; i < r; i++) {
            iov[i].iov_len = msgs[i].msg_len;
            if (msgs[i].msg_len >= 28) memcpy(bufs[i] + 24, &one, 4);
        }
        int done = 0;
        while (done < r) {
            int s = sendmmsg(fd, msgs + done, (unsigned)(r - done), 0);
            if (s < 0) {
                if (errno == EINTR) continue;
                break;
            }
            done += s;
        }
        answered += r;
    }
    fprintf(stderr, "udp-echo answered %lld\n", answered);
    return 0;
}

static int tcp_echo(const char *host, int port, double max_seconds) {
    struct sockaddr_in a = make_addr(host, port);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) die("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(lfd, 128) < 0) die("listen");
    socklen_t al = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &al);
    printf("listening tcp %s:%d\n", host, ntohs(a.sin_port));
    fflush(stdout);
    echo_deadline(max_seconds);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    static unsigned char bufs[ECHO_FDS][MAX_FRAME];
    static size_t lens[ECHO_FDS];
    uint32_t rc1 = htonl(1);
    while (!g_stop) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 100);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c = accept(lfd, NULL, NULL);
                if (c < 0) continue;
                if (c >= ECHO_FDS) { close(c); continue; }
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                lens[c] = 0;
                struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                continue;
            }
            ssize_t r = read(fd, bufs[fd] + lens[fd], sizeof bufs[fd] - lens[fd]);
            if (r <= 0) { close(fd); continue; }
            lens[fd] += (size_t)r;
            size_t pos = 0;
            while (lens[fd] - pos >= 20) {
                uint32_t mlen;
                memcpy(&mlen, bufs[fd] + pos + 16, 4);
                mlen = ntohl(mlen);
                if (lens[fd] - pos < 20 + (size_t)mlen) break;
                if (mlen >= 8) memcpy(bufs[fd] + pos + 24, &rc1, 4);
                pos += 20 + (size_t)mlen;
            }
            size_t done = 0;
            while (done < pos) {
                /* Blocking-style write loop: the echo is only used against our generator. */
                ssize_t w = write(fd, bufs[fd] + done, pos - done);
                if (w < 0) { if (errno == EINTR || errno == EAGAIN) continue; break; }
                done += (size_t)w;
            }
            memmove(bufs[fd], bufs[fd] + pos, lens[fd] - pos);
            lens[fd] -= pos;
        }
    }
    return 0;
}

/* ---- main ---------------------------------------------------------------------------- */

static void usage(void) {
    fprintf(stderr,
            "usage: udpload udp-load|tcp-load HOST PORT REQFILE [--lanes W] [--sockets S]\n"
            "         [--warmup SEC] [--duration SEC] [--max-requests N] [--timeout-ms MS]\n"
            "         [--expect-rc RC|-1] [--hard-limit SEC] [--seed N]\n"
            "       udpload udp-echo|tcp-echo HOST PORT [--max-seconds SEC]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 4) usage();
    g_mode = argv[1];
    const char *host = argv[2];
    int port = atoi(argv[3]);
    /* No SA_RESTART: a blocking recvmmsg must return EINTR so the stop flag is seen. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int is_echo = strcmp(g_mode, "udp-echo") == 0 || strcmp(g_mode, "tcp-echo") == 0;
    int first_opt = is_echo ? 4 : 5;
    if (!is_echo && argc < 5) usage();
    double max_seconds = 0;
    for (int i = first_opt; i < argc; i++) {
        if (i + 1 >= argc) usage();
        const char *k = argv[i], *v = argv[++i];
        if (!strcmp(k, "--lanes")) g_nlanes = atoi(v);
        else if (!strcmp(k, "--sockets")) g_nsocks = atoi(v);
        else if (!strcmp(k, "--warmup")) g_warmup = atof(v);
        else if (!strcmp(k, "--duration")) g_duration = atof(v);
        else if (!strcmp(k, "--max-requests")) g_max_requests = atoll(v);
        else if (!strcmp(k, "--timeout-ms")) g_timeout_ms = atoi(v);
        else if (!strcmp(k, "--expect-rc")) g_expect_rc = atoi(v);
        else if (!strcmp(k, "--hard-limit")) g_hard = atof(v);
        else if (!strcmp(k, "--max-seconds")) max_seconds = atof(v);
        else if (!strcmp(k, "--seed")) g_rng ^= (uint64_t)atoll(v) * 0xBF58476D1CE4E5B9ull;
        else usage();
    }
    if (is_echo) {
        if (!strcmp(g_mode, "udp-echo")) return udp_echo(host, port, max_seconds);
        return tcp_echo(host, port, max_seconds);
    }
    if (g_nlanes < 1 || g_nlanes > MAX_LANES || g_nsocks < 1 || g_nsocks > MAX_SOCKS) usage();
    if (g_nsocks > g_nlanes) g_nsocks = g_nlanes;
    if (g_hard <= 0) g_hard = g_warmup + g_duration + 30.0;
    g_hist = calloc(HIST_US, sizeof *g_hist);
    if (!g_hist) die("calloc");
    load_requests(argv[4]);
    if (!strcmp(g_mode, "udp-load")) return udp_load(host, port);
    if (!strcmp(g_mode, "tcp-load")) return tcp_load(host, port);
    usage();
    return 2;
}
