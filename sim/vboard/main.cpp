// The virtual board: the board's gateware (hw/serial_engine.py without its UART: frame decoder, watchdog, status
// registers, core, recommendation queue, frame encoder, both clock domains) compiled by Verilator and driven by
// this loop, serving the board's byte stream on a TCP socket, one client at a time (sim/vboard.py builds it;
// `hedgegate board-sim` runs it).
//
// Per clock cycle: the inputs are set with the clocks low and evaluated, the handshakes are decided from the
// settled outputs (a host byte is taken when rx_valid and rx_ready; a board byte is taken on every cycle it is
// valid), then the serial side's clock rises, and on every fifth cycle the core's with it (core_every). The
// crossings between the two domains are gateware either way, and their behaviour on unrelated clocks is tested in
// the cocotb and Amaranth simulations (tests/test_serial_sim.py, tests/test_stream_crossing.py). (On the ULX3S the
// core's clock is the faster one, 125 MHz against 48 MHz; there the serial side's UART, 160 cycles a byte, is the
// bound. Bypassing the UART moves the bound to the decoder, a byte per cycle, and the harness clocks the core as
// often as that needs.)
//
// The socket is polled every POLL_CYCLES cycles, or at once when the host's bytes run out. Simulated time runs as
// fast as the host keeps it busy; with nothing to do it runs IDLE_CYCLES cycles per millisecond of waiting, so the
// watchdog still counts down when the host goes quiet (in simulated cycles, not in seconds). If the host stops
// reading, the simulation waits for it rather than dropping bytes.
//
// Usage: vboard PORT [--reset-on-connect]   (PORT 0: any free port). Prints "LISTENING <port>" once it accepts.
//        vboard --bench FILE [K]   feeds FILE's bytes to the board as fast as it takes them, with no socket and no
//                                  host (and K serial cycles per core cycle), and prints cycles, seconds and bytes
//                                  out: the simulation's own speed (bench/vboard_throughput.py).

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <iterator>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "Vvboard.h"
#include "verilated.h"

static const int POLL_CYCLES = 256;
static const int IDLE_CYCLES = 64;
static const size_t OUT_LIMIT = 1 << 20;
// Host bytes taken from the socket ahead of the gateware: few, so that TCP's flow control, not an unbounded buffer
// here, holds a host that sends faster than the board decodes (as a UART's line rate does), and a status read
// queued behind the ticks is answered within a bounded time.
static const size_t IN_LIMIT = 1 << 14;
static const int RCVBUF = 1 << 16;

static std::unique_ptr<Vvboard> top;
static uint64_t cycles = 0;
// Serial-side cycles per core cycle. Simulating a core cycle costs ~6 times a serial-side cycle (the parallel book
// is most of it), and each tick costs its crossing into the core's domain, four core cycles whatever the ratio, and
// its 17 bytes through the decoder, a byte per serial cycle. 5 is the smallest ratio at which a tick costs no more
// than those four core cycles (20 serial cycles; at 1 it took 17 core cycles, at 3 about 5.7, at 4 five); measured
// in bench/vboard_throughput.py, which takes the ratio as an argument.
static int core_every = 5;

static void cycle(std::vector<uint8_t> &in, size_t &in_pos, std::vector<uint8_t> &out) {
    bool core_edge = cycles % core_every == 0;
    top->clk = 0;
    top->core_clk = 0;
    bool have = in_pos < in.size();
    top->rx_valid = have;
    top->rx_data = have ? in[in_pos] : 0;
    top->tx_ready = 1;
    top->eval();
    bool rx_fire = have && top->rx_ready;
    bool tx_fire = top->tx_valid;
    uint8_t tx_data = top->tx_data;
    top->clk = 1;
    top->core_clk = core_edge;
    top->eval();
    if (rx_fire) in_pos++;
    if (tx_fire) out.push_back(tx_data);
    cycles++;
}

static void reset(std::vector<uint8_t> &in, size_t &in_pos, std::vector<uint8_t> &out) {
    top->reset = 1;
    std::vector<uint8_t> none;
    size_t none_pos = 0;
    for (int i = 0; i < 8 * core_every; i++) cycle(none, none_pos, out);
    top->reset = 0;
    out.clear();
    (void)in; (void)in_pos;
}

// Sends what it can of `out` without blocking; false if the host has gone.
static bool flush(int fd, std::vector<uint8_t> &out) {
    if (out.empty()) return true;
    ssize_t sent = send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent > 0) {
        out.erase(out.begin(), out.begin() + sent);
        return true;
    }
    return sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

// Reads what has arrived without blocking (waiting up to `wait_ms` for it); false if the host has gone.
static bool receive(int fd, std::vector<uint8_t> &in, size_t &in_pos, int wait_ms) {
    if (wait_ms > 0) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, wait_ms) <= 0) return true;
    }
    if (in.size() - in_pos >= IN_LIMIT) return true;      // enough to feed: leave the rest in TCP's buffers
    if (in_pos == in.size()) {
        in.clear();
        in_pos = 0;
    } else if (in_pos > (1 << 16)) {
        in.erase(in.begin(), in.begin() + in_pos);
        in_pos = 0;
    }
    uint8_t buffer[1 << 16];
    ssize_t got = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (got > 0) {
        in.insert(in.end(), buffer, buffer + got);
        return true;
    }
    if (got == 0) return false;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

static int bench(const char *path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        fprintf(stderr, "vboard: cannot read %s\n", path);
        return 1;
    }
    std::vector<uint8_t> in((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    std::vector<uint8_t> out;
    size_t in_pos = 0;
    reset(in, in_pos, out);
    auto started = std::chrono::steady_clock::now();
    uint64_t first = cycles;
    size_t sent = 0;
    while (in_pos < in.size()) {
        cycle(in, in_pos, out);
        if (out.size() > (1 << 16)) {
            sent += out.size();
            out.clear();
        }
    }
    uint64_t fed = cycles - first;
    for (int i = 0; i < 4096; i++) cycle(in, in_pos, out);      // the pipeline and the queue drain
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    printf("bytes_in %zu cycles_to_take_them %llu cycles %llu seconds %.6f bytes_out %zu\n", in.size(),
           (unsigned long long)fed, (unsigned long long)(cycles - first), seconds, sent + out.size());
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [--reset-on-connect] | --bench FILE\n", argv[0]);
        return 2;
    }
    if (std::string(argv[1]) == "--bench") {
        auto context = std::make_unique<VerilatedContext>();
        top = std::make_unique<Vvboard>(context.get(), "vboard");
        if (argc > 3) core_every = atoi(argv[3]);
        int status = argc > 2 && core_every >= 1 ? bench(argv[2]) : 2;
        top.reset();                        // before its context goes
        return status;
    }
    // Started by a host (hedgegate board-sim, the sim backend): go with it, rather than run on as an orphan.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int port = atoi(argv[1]);
    bool reset_on_connect = argc > 2 && std::string(argv[2]) == "--reset-on-connect";
    signal(SIGPIPE, SIG_IGN);

    auto context = std::make_unique<VerilatedContext>();
    top = std::make_unique<Vvboard>(context.get(), "vboard");
    std::vector<uint8_t> in, out;
    size_t in_pos = 0;
    reset(in, in_pos, out);

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    if (bind(listener, (sockaddr *)&address, sizeof address) != 0 || listen(listener, 1) != 0) {
        fprintf(stderr, "vboard: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        return 1;
    }
    socklen_t length = sizeof address;
    getsockname(listener, (sockaddr *)&address, &length);
    printf("LISTENING %d\n", ntohs(address.sin_port));
    fflush(stdout);

    for (;;) {
        int fd = accept(listener, nullptr, nullptr);
        if (fd < 0) continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &RCVBUF, sizeof RCVBUF);
        if (reset_on_connect) reset(in, in_pos, out);
        in.clear();
        in_pos = 0;
        out.clear();
        bool connected = true;
        int quiet = 0;                      // cycles since the last byte either way
        while (connected) {
            if (out.size() > OUT_LIMIT) {   // the host is not reading: wait for it, do not drop
                pollfd p{fd, POLLOUT, 0};
                poll(&p, 1, 10);
                connected = flush(fd, out);
                continue;
            }
            if (in_pos == in.size()) {
                // Nothing to feed: run on while the board still has work (its pipeline and queue drain within a
                // few thousand cycles), then wait for the host, a millisecond at a time.
                connected = flush(fd, out) && receive(fd, in, in_pos, quiet > 4096 ? 1 : 0);
                if (in_pos == in.size() && quiet > 4096) {
                    for (int i = 0; i < IDLE_CYCLES; i++) cycle(in, in_pos, out);
                    if (!out.empty()) quiet = 0;
                    continue;
                }
            }
            size_t before_in = in_pos, before_out = out.size();
            for (int i = 0; i < POLL_CYCLES; i++) cycle(in, in_pos, out);
            quiet = (in_pos != before_in || out.size() != before_out) ? 0 : quiet + POLL_CYCLES;
            connected = flush(fd, out) && receive(fd, in, in_pos, 0);
        }
        close(fd);
    }
}
