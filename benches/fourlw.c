/* The floor of an exec probe: the least a static program does to ask ZooKeeper one
 * four-letter word. benches/probe.rs builds it with `musl-gcc -static -O2` and compares the CPU
 * per call of `zk-entry ready` and `zk-entry metrics` against it.
 *
 * It connects to 127.0.0.1:PORT, sends the four bytes, half-closes and reads the reply to EOF.
 * For `ruok` it exits 0 when the reply is `imok`; for any other word it writes the reply to
 * stdout (as `zk-entry metrics` does with mntr's) and exits 0. No timeout, no name lookup, no
 * messages.
 *
 * Usage: fourlw PORT WORD
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* mntr of a small standalone server is about 16 KiB. */
static char reply[1 << 20];

int main(int argc, char **argv) {
    if (argc != 3 || strlen(argv[2]) != 4) {
        return 2;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        return 1;
    }
    if (write(fd, argv[2], 4) != 4 || shutdown(fd, SHUT_WR) != 0) {
        return 1;
    }
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, reply + len, sizeof reply - len);
        if (n < 0) {
            return 1;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
        if (len == sizeof reply) {
            return 1;
        }
    }
    if (strcmp(argv[2], "ruok") == 0) {
        return len == 4 && memcmp(reply, "imok", 4) == 0 ? 0 : 1;
    }
    for (size_t done = 0; done < len;) {
        ssize_t n = write(1, reply + done, len - done);
        if (n <= 0) {
            return 1;
        }
        done += (size_t)n;
    }
    return 0;
}
