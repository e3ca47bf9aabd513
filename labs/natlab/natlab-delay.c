/*
 * natlab-delay: holds every packet of one NFQUEUE for DELAY +- JITTER ms, then accepts it.
 * The kernel here has no netem, so natlab queues a link's packets (iptables raw table, before
 * conntrack) to one of these per namespace. Packets of one flow (proto, addresses, ports) leave in
 * the order they came: a packet never leaves before an earlier packet of its flow.
 *
 *   natlab-delay QUEUE DELAY_MS JITTER_MS [OUT_LOSS_PCT [WATCH_FILE]]
 *
 * OUT_LOSS_PCT drops that share of the packets queued from the local output hook (pub's own
 * packets): dropping them in nftables would fail the sender's send() with EPERM instead.
 * WATCH_FILE: exit within a second once it is gone (the lab removed it), so that a lab torn down
 * by other means than `natlab down` leaves no natlab-delay behind.
 *
 * Plain netlink (no libnetfilter_queue), so it builds with gcc and the kernel headers alone.
 * Exits on SIGTERM/SIGINT; queued packets are then dropped by the kernel (the socket closes).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct item { int64_t at; uint64_t seq; uint32_t id; uint32_t verdict; };

static struct item *heap; static size_t nheap, capheap;
static uint64_t seqno;
#define FLOWS 65536
/* direct-mapped: a collision only couples the order of two flows, which is harmless */
static struct { uint64_t key; int64_t last; } flows[FLOWS];
static volatile sig_atomic_t stop;
static uint64_t rng = 88172645463325252ull;

static int64_t now_ns(void) {
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}
static uint64_t xorshift(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
static int less(const struct item *a, const struct item *b) {
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}
static void push(struct item it) {
    if (nheap == capheap) {
        capheap = capheap ? capheap * 2 : 1024;
        heap = realloc(heap, capheap * sizeof *heap);
        if (!heap) { perror("realloc"); exit(1); }
    }
    size_t i = nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!less(&it, &heap[p])) break;
        heap[i] = heap[p]; i = p;
    }
    heap[i] = it;
}
static struct item pop(void) {
    struct item top = heap[0], last = heap[--nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= nheap) break;
        if (c + 1 < nheap && less(&heap[c + 1], &heap[c])) c++;
        if (!less(&heap[c], &last)) break;
        heap[i] = heap[c]; i = c;
    }
    if (nheap) heap[i] = last;
    return top;
}

static uint64_t mix(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 1099511628211ull; }
    return h;
}
/* FNV-1a over protocol, addresses and ports (ICMP: the echo id), IPv4 and IPv6 */
static uint64_t flow_key(const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    if (n >= 20 && (p[0] >> 4) == 4) {
        size_t ihl = (size_t)(p[0] & 15) * 4; int proto = p[9];
        int frag = ((p[6] & 0x1f) << 8 | p[7]) != 0;
        h = mix(h, p + 9, 1); h = mix(h, p + 12, 8);
        if (!frag && n >= ihl + 4 && (proto == 6 || proto == 17 || proto == 132)) h = mix(h, p + ihl, 4);
        else if (!frag && proto == 1 && n >= ihl + 6) h = mix(h, p + ihl + 4, 2);
    } else if (n >= 40 && (p[0] >> 4) == 6) {
        int nh = p[6];
        h = mix(h, p + 6, 1); h = mix(h, p + 8, 32);
        if (n >= 44 && (nh == 6 || nh == 17 || nh == 132)) h = mix(h, p + 40, 4);
        else if (nh == 58 && n >= 46) h = mix(h, p + 44, 2);
    }
    return h;
}

static int nl_send(int fd, void *buf, size_t len) {
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
    return (int)sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof sa);
}
static void put_attr(struct nlmsghdr *nh, int type, const void *data, size_t len) {
    struct nlattr *a = (struct nlattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
    a->nla_type = type; a->nla_len = NLA_HDRLEN + len;
    memcpy((char *)a + NLA_HDRLEN, data, len);
    nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + NLA_ALIGN(a->nla_len);
}
static struct nlmsghdr *begin(char *buf, int type, uint16_t queue, int flags) {
    memset(buf, 0, 256);
    struct nlmsghdr *nh = (struct nlmsghdr *)buf;
    nh->nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
    nh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type;
    nh->nlmsg_flags = NLM_F_REQUEST | flags;
    struct nfgenmsg *g = NLMSG_DATA(nh);
    g->nfgen_family = AF_UNSPEC; g->version = NFNETLINK_V0; g->res_id = htons(queue);
    return nh;
}
/* one config request, acknowledged; returns 0 or -errno */
static int config(int fd, uint16_t queue, int attr, const void *data, size_t len) {
    char buf[256], rbuf[4096];
    struct nlmsghdr *nh = begin(buf, NFQNL_MSG_CONFIG, queue, NLM_F_ACK);
    put_attr(nh, attr, data, len);
    if (nl_send(fd, buf, nh->nlmsg_len) < 0) return -errno;
    for (;;) {
        ssize_t r = recv(fd, rbuf, sizeof rbuf, 0);
        if (r < 0) return -errno;
        for (struct nlmsghdr *m = (struct nlmsghdr *)rbuf; r > 0 && NLMSG_OK(m, r); m = NLMSG_NEXT(m, r))
            if (m->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(m))->error;
    }
}

static char vbuf[1 << 16]; static size_t vlen;
static int vfd; static uint16_t vqueue;
static void flush_verdicts(void) {
    if (vlen && nl_send(vfd, vbuf, vlen) < 0 && errno != EINTR) perror("verdict");
    vlen = 0;
}
static void verdict(uint32_t id, uint32_t v) {
    if (vlen + 256 > sizeof vbuf) flush_verdicts(); /* begin() clears 256 bytes */
    struct nlmsghdr *nh = begin(vbuf + vlen, NFQNL_MSG_VERDICT, vqueue, 0);
    struct nfqnl_msg_verdict_hdr vh = { .verdict = htonl(v), .id = htonl(id) };
    put_attr(nh, NFQA_VERDICT_HDR, &vh, sizeof vh);
    vlen += NLMSG_ALIGN(nh->nlmsg_len);
}

static void on_signal(int s) { (void)s; stop = 1; }

int main(int argc, char **argv) {
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: natlab-delay QUEUE DELAY_MS JITTER_MS [OUT_LOSS_PCT [WATCH_FILE]]\n");
        return 2;
    }
    const char *watch = argc == 6 ? argv[5] : NULL;
    int64_t next_watch = 0;
    uint16_t queue = (uint16_t)atoi(argv[1]);
    int64_t delay = (int64_t)(atof(argv[2]) * 1e6), jitter = (int64_t)(atof(argv[3]) * 1e6);
    uint64_t outloss = argc >= 5 ? (uint64_t)(atof(argv[4]) * 100 + 0.5) : 0; /* per 10000 */
    if (delay < 0 || jitter < 0) { fprintf(stderr, "natlab-delay: negative delay\n"); return 2; }
    rng ^= (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
    /* a shared, loaded machine would otherwise add its scheduling delay to the link's */
    if (setpriority(PRIO_PROCESS, 0, -15) < 0) perror("natlab-delay: setpriority");

    int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
    if (fd < 0) { perror("socket"); return 1; }
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("bind"); return 1; }
    int big = 16 << 20, one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);

    struct nfqnl_msg_config_cmd cmd = { .command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_INET) };
    int e = config(fd, queue, NFQA_CFG_CMD, &cmd, sizeof cmd);
    if (e) { fprintf(stderr, "natlab-delay: bind queue %u: %s\n", queue, strerror(-e)); return 1; }
    struct nfqnl_msg_config_params params = { .copy_range = htonl(128), .copy_mode = NFQNL_COPY_PACKET };
    if ((e = config(fd, queue, NFQA_CFG_PARAMS, &params, sizeof params))) {
        fprintf(stderr, "natlab-delay: params: %s\n", strerror(-e)); return 1;
    }
    uint32_t maxlen = htonl(65536);
    if ((e = config(fd, queue, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof maxlen)))
        fprintf(stderr, "natlab-delay: maxlen: %s\n", strerror(-e));

    struct sigaction act = { .sa_handler = on_signal };
    sigaction(SIGTERM, &act, NULL); sigaction(SIGINT, &act, NULL);
    vfd = fd; vqueue = queue;
    fprintf(stderr, "natlab-delay: queue %u, %.1f ms +- %.1f ms, output loss %.2f %%\n", queue,
            delay / 1e6, jitter / 1e6, outloss / 100.0);

    static char rbuf[1 << 17];
    while (!stop) {
        int64_t t = now_ns();
        if (watch && t >= next_watch) {
            if (access(watch, F_OK) != 0) { fprintf(stderr, "natlab-delay: %s is gone, exiting\n", watch); break; }
            next_watch = t + 1000000000ll;
        }
        while (nheap && heap[0].at <= t) { struct item it = pop(); verdict(it.id, it.verdict); }
        flush_verdicts();
        struct timespec ts, *tp = NULL;
        if (nheap || watch) {
            int64_t w = nheap ? heap[0].at - t : 1000000000ll;
            if (watch && w > next_watch - t) w = next_watch - t;
            if (w < 0) w = 0;
            ts.tv_sec = w / 1000000000ll; ts.tv_nsec = w % 1000000000ll; tp = &ts;
        }
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int pr = ppoll(&pfd, 1, tp, NULL);
        if (pr < 0) { if (errno == EINTR) continue; perror("ppoll"); return 1; }
        if (pr == 0) continue;
        for (;;) {
            ssize_t r = recv(fd, rbuf, sizeof rbuf, MSG_DONTWAIT);
            if (r < 0) {
                if (errno == EAGAIN || errno == EINTR) break;
                if (errno == ENOBUFS) continue;
                perror("recv"); return 1;
            }
            int64_t arrived = now_ns();
            /* r is signed: NLMSG_NEXT can take it below 0 past an unaligned last message */
            for (struct nlmsghdr *m = (struct nlmsghdr *)rbuf; r > 0 && NLMSG_OK(m, r); m = NLMSG_NEXT(m, r)) {
                if ((m->nlmsg_type & 0xff) != NFQNL_MSG_PACKET || (m->nlmsg_type >> 8) != NFNL_SUBSYS_QUEUE) continue;
                uint32_t id = 0; int have = 0, hook = -1; const unsigned char *pl = NULL; size_t pn = 0;
                int alen = (int)m->nlmsg_len - NLMSG_LENGTH(sizeof(struct nfgenmsg));
                struct nlattr *a = (struct nlattr *)((char *)NLMSG_DATA(m) + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
                while (alen >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= alen) {
                    int type = a->nla_type & NLA_TYPE_MASK;
                    void *d = (char *)a + NLA_HDRLEN;
                    if (type == NFQA_PACKET_HDR) {
                        struct nfqnl_msg_packet_hdr *ph = d;
                        id = ntohl(ph->packet_id); hook = ph->hook; have = 1;
                    }
                    else if (type == NFQA_PAYLOAD) { pl = d; pn = a->nla_len - NLA_HDRLEN; }
                    alen -= NLA_ALIGN(a->nla_len);
                    a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
                }
                if (!have) continue;
                if (outloss && hook == NF_INET_LOCAL_OUT && xorshift() % 10000 < outloss) {
                    push((struct item){ .at = arrived, .seq = seqno++, .id = id, .verdict = NF_DROP });
                    continue;
                }
                int64_t j = jitter ? (int64_t)(xorshift() % (uint64_t)(2 * jitter + 1)) - jitter : 0;
                int64_t at = arrived + delay + j;
                if (at < arrived) at = arrived;
                uint64_t k = pl ? flow_key(pl, pn) : 0;
                size_t slot = (size_t)(k % FLOWS);
                if (flows[slot].key == k && flows[slot].last > at) at = flows[slot].last;
                flows[slot].key = k; flows[slot].last = at;
                push((struct item){ .at = at, .seq = seqno++, .id = id, .verdict = NF_ACCEPT });
            }
        }
    }
    return 0;
}
