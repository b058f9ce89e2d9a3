/*
 * wagen: workload generator for the benchmark guests of
 * workload_aware.live_migration.
 *
 * Every page of its working set carries a pattern derived from the page's
 * index and a per-page generation counter; the generator re-verifies the
 * whole working set continuously, and every page before it overwrites it, so
 * a page that a migration lost or corrupted is seen within one verification
 * period.  Once a second it
 * prints one report line:
 *
 *   WAGEN seq=<n> mode=<m> t=<s> healthy=<0|1> errors=<n> bad_page=<i>
 *         work=<rate> unit=<u> written_mibps=<r> verified_mibps=<r>
 *         net_mibps=<r> net_errno=<e> cpu_mops=<r> wss_mib=<n>
 *
 * `seq` increases by one per report so a stale report is visible, and
 * `work` is the mode's own work rate since the previous report, so the
 * slowdown a migration causes can be measured.  At start it prints one
 * "WAGEN start ..." line giving the working set's address, which the tests
 * use to corrupt a page from outside the process.
 *
 * Modes: idle, cpu, read, write, net (client) and sink (the net peer).
 * Rates are MiB/s (2^20 bytes), the unit libvirt's dirty-rate uses.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define WORDS (PAGE / sizeof(uint64_t))
#define MIB (1024.0 * 1024.0)
#define MAGIC 0x5741474531ULL /* "WAGE1" */

enum mode { IDLE, CPU, READ, WRITE, NET, SINK };
static const char *mode_names[] = {"idle", "cpu", "read", "write", "net", "sink"};

struct options {
    enum mode mode;
    size_t wss_mib;
    double rate_mibps;       /* write: dirty rate; read/net: MiB/s, 0 = unlimited */
    double verify_period_s;  /* whole working set re-verified this often */
    double report_interval_s;
    const char *peer;
    int port;
    const char *output;
};

struct state {
    uint64_t *pages;
    uint32_t *generation;    /* per page: how often it has been written */
    size_t npages;
    size_t write_cursor, verify_cursor;
    uint64_t errors;
    long bad_page;
    uint64_t written, verified, sent, cpu_ops;  /* since the last report */
    int sock;
    int net_errno;           /* last connect/send error, 0 when connected */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static uint64_t expected_word(size_t page, uint32_t gen, size_t word)
{
    if (word == 0)
        return MAGIC ^ page;
    if (word == 1)
        return gen;
    return mix(((uint64_t)page << 32) | gen) + word * 0x9e3779b97f4a7c15ULL;
}

static void verify_page(struct state *s, size_t page);

static void write_page(struct state *s, size_t page)
{
    uint64_t *p = s->pages + page * WORDS;
    /* Check before overwriting: a corrupted page is caught even when the
     * writer comes round to it before the verifier does. */
    if (s->generation[page])
        verify_page(s, page);
    uint32_t gen = ++s->generation[page];
    for (size_t w = 0; w < WORDS; w++)
        p[w] = expected_word(page, gen, w);
    s->written += PAGE;
}

static void verify_page(struct state *s, size_t page)
{
    const uint64_t *p = s->pages + page * WORDS;
    uint32_t gen = s->generation[page];
    for (size_t w = 0; w < WORDS; w++) {
        if (p[w] != expected_word(page, gen, w)) {
            if (s->errors++ == 0)
                s->bad_page = (long)page;
            break;
        }
    }
    s->verified += PAGE;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: wagen idle|cpu|read|write|net|sink [-m WSS_MIB] [-r RATE_MIBPS]\n"
            "             [-v VERIFY_PERIOD_S] [-i REPORT_INTERVAL_S] [-H PEER] [-P PORT]\n"
            "             [-o OUTPUT]\n");
    exit(2);
}

static void parse(int argc, char **argv, struct options *o)
{
    if (argc < 2)
        usage();
    int found = 0;
    for (int m = IDLE; m <= SINK; m++)
        if (strcmp(argv[1], mode_names[m]) == 0) {
            o->mode = (enum mode)m;
            found = 1;
        }
    if (!found)
        usage();
    o->wss_mib = o->mode == READ || o->mode == WRITE ? 64 : 4;
    o->rate_mibps = o->mode == WRITE ? 10 : 0;
    o->verify_period_s = 2;
    o->report_interval_s = 1;
    o->peer = "10.0.2.2";
    o->port = 5001;
    o->output = NULL;
    int c;
    optind = 2;
    while ((c = getopt(argc, argv, "m:r:v:i:H:P:o:")) != -1) {
        switch (c) {
        case 'm': o->wss_mib = strtoul(optarg, NULL, 10); break;
        case 'r': o->rate_mibps = atof(optarg); break;
        case 'v': o->verify_period_s = atof(optarg); break;
        case 'i': o->report_interval_s = atof(optarg); break;
        case 'H': o->peer = optarg; break;
        case 'P': o->port = atoi(optarg); break;
        case 'o': o->output = optarg; break;
        default: usage();
        }
    }
    if (o->wss_mib == 0 || o->verify_period_s <= 0 || o->report_interval_s <= 0)
        usage();
}

/* The net peer: accept connections on loopback and discard what they send. */
static int run_sink(const struct options *o)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(o->port)};
    inet_pton(AF_INET, o->peer, &a.sin_addr);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 64)) {
        perror("wagen sink");
        return 1;
    }
    struct pollfd fds[256] = {{.fd = ls, .events = POLLIN}};
    int n = 1;
    static char buf[1 << 16];
    for (;;) {
        if (poll(fds, n, -1) < 0 && errno != EINTR)
            return 1;
        if (fds[0].revents & POLLIN) {
            int c = accept(ls, NULL, NULL);
            if (c >= 0 && n < 256)
                fds[n++] = (struct pollfd){.fd = c, .events = POLLIN};
            else if (c >= 0)
                close(c);
        }
        for (int i = 1; i < n; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (read(fds[i].fd, buf, sizeof buf) <= 0) {
                close(fds[i].fd);
                fds[i--] = fds[--n];
            }
        }
    }
}

static void net_send(struct state *s, const struct options *o)
{
    static char buf[1 << 16];
    if (s->sock < 0) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(o->port)};
        inet_pton(AF_INET, o->peer, &a.sin_addr);
        s->sock = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s->sock, (struct sockaddr *)&a, sizeof a)) {
            s->net_errno = errno;
            close(s->sock);
            s->sock = -1;
            usleep(200000);  /* peer not up yet: retry, never spin */
            return;
        }
    }
    ssize_t n = send(s->sock, buf, sizeof buf, MSG_NOSIGNAL);
    if (n <= 0) {
        s->net_errno = n < 0 ? errno : EPIPE;
        close(s->sock);
        s->sock = -1;
    } else {
        s->net_errno = 0;
        s->sent += (uint64_t)n;
    }
}

volatile uint64_t cpu_result;  /* keeps the arithmetic from being optimised away */

static void cpu_burst(struct state *s)
{
    /* Register-only arithmetic: a busy vCPU that dirties next to no memory. */
    uint64_t x = s->cpu_ops + 1;
    for (int i = 0; i < 20000; i++)
        x = mix(x);
    cpu_result = x;
    s->cpu_ops += 20000;
}

int main(int argc, char **argv)
{
    struct options o;
    parse(argc, argv, &o);
    if (o.mode == SINK)
        return run_sink(&o);

    FILE *out = o.output ? fopen(o.output, "a") : stdout;
    if (!out) {
        perror(o.output);
        return 1;
    }
    struct state s = {.bad_page = -1, .sock = -1};
    s.npages = o.wss_mib * (size_t)MIB / PAGE;
    s.pages = mmap(NULL, s.npages * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    s.generation = calloc(s.npages, sizeof *s.generation);
    if (s.pages == MAP_FAILED || !s.generation) {
        fprintf(out, "WAGEN error=no-memory wss_mib=%zu\n", o.wss_mib);
        return 1;
    }
    for (size_t p = 0; p < s.npages; p++)
        write_page(&s, p);
    fprintf(out, "WAGEN start mode=%s pid=%d wss_mib=%zu wss_addr=%p page_size=%u\n",
            mode_names[o.mode], (int)getpid(), o.wss_mib, (void *)s.pages, PAGE);
    fflush(out);

    const double verify_pages_per_s = s.npages / o.verify_period_s;
    const double write_pages_per_s = o.mode == WRITE ? o.rate_mibps * MIB / PAGE : 0;
    const int busy = o.mode == CPU || (o.mode == NET && o.rate_mibps <= 0) || (o.mode == READ && o.rate_mibps <= 0);
    double net_sent_total = 0;
    double start = now(), last = start, write_base = start, verify_base = start;
    uint64_t writes_done = 0, verifies_done = 0, seq = 0;
    s.written = 0;

    for (;;) {
        double t = now();
        int did = 0;
        /* Token buckets; a backlog over one second is dropped, not burst. */
        double want_w = (t - write_base) * write_pages_per_s;
        if (want_w - writes_done > write_pages_per_s) {
            write_base = t - 1.0;
            writes_done = 0;
            want_w = write_pages_per_s;
        }
        for (int b = 0; b < 64 && writes_done < want_w; b++, writes_done++, did = 1) {
            write_page(&s, s.write_cursor);
            s.write_cursor = (s.write_cursor + 1) % s.npages;
        }
        double rate_v = o.mode == READ && o.rate_mibps > 0 ? o.rate_mibps * MIB / PAGE
                                                           : verify_pages_per_s;
        double want_v = (t - verify_base) * rate_v;
        if (want_v - verifies_done > rate_v) {
            verify_base = t - 1.0;
            verifies_done = 0;
            want_v = rate_v;
        }
        int unlimited_read = o.mode == READ && o.rate_mibps <= 0;
        for (int b = 0; b < 64 && (unlimited_read || verifies_done < want_v);
             b++, verifies_done++, did = 1) {
            verify_page(&s, s.verify_cursor);
            s.verify_cursor = (s.verify_cursor + 1) % s.npages;
        }
        if (o.mode == CPU)
            cpu_burst(&s);
        if (o.mode == NET) {
            /* Rate-limited when asked: send only while behind the target. */
            if (o.rate_mibps <= 0 || net_sent_total < (t - start) * o.rate_mibps * MIB) {
                uint64_t before = s.sent;
                net_send(&s, &o);
                net_sent_total += s.sent - before;
                did = 1;
            }
        }

        if (t - last >= o.report_interval_s) {
            double dt = t - last;
            double written = s.written / MIB / dt, verified = s.verified / MIB / dt;
            double net = s.sent / MIB / dt, mops = s.cpu_ops / 1e6 / dt;
            double work;
            const char *unit;
            switch (o.mode) {
            case CPU: work = mops; unit = "Mops/s"; break;
            case NET: work = net; unit = "MiB/s"; break;
            case WRITE: work = written; unit = "MiB/s"; break;
            default: work = verified; unit = "MiB/s"; break;
            }
            fprintf(out,
                    "WAGEN seq=%llu mode=%s t=%.3f healthy=%d errors=%llu bad_page=%ld "
                    "work=%.2f unit=%s written_mibps=%.2f verified_mibps=%.2f "
                    "net_mibps=%.2f net_errno=%d cpu_mops=%.2f wss_mib=%zu\n",
                    (unsigned long long)++seq, mode_names[o.mode], t - start,
                    s.errors == 0, (unsigned long long)s.errors, s.bad_page, work, unit,
                    written, verified, net, s.net_errno, mops, o.wss_mib);
            fflush(out);
            s.written = s.verified = s.sent = s.cpu_ops = 0;
            last = t;
        }
        if (!did && !busy)
            usleep(1000);
    }
}
