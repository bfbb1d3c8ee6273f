/* SPDX-License-Identifier: MIT */
/* A stand-in for a hostile process in a container (test-attribution-sender.sh): sends one
 * AUDIT_USER_AVC with the text of argv[1] through a raw audit netlink socket, as any root process
 * with CAP_AUDIT_WRITE (Docker's default) can, then stays alive argv[2] seconds, like a process
 * that goes on running. Built with -static so that it runs in an image without libraries. Exit
 * status 0 when the kernel accepted the message. */

#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define AUDIT_USER_AVC 1107

int main(int argc, char **argv) {
        struct {
                struct nlmsghdr h;
                char text[8192];
        } req = {};
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        char answer[8192];
        size_t len;
        int fd;

        if (argc < 2 || strlen(argv[1]) >= sizeof(req.text)) {
                fprintf(stderr, "usage: user-avc-sender TEXT [SECONDS]\n");
                return 2;
        }
        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
        if (fd < 0) {
                perror("socket");
                return 1;
        }
        len = strlen(argv[1]) + 1;
        memcpy(req.text, argv[1], len);
        req.h.nlmsg_len = NLMSG_LENGTH(len);
        req.h.nlmsg_type = AUDIT_USER_AVC;
        req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        req.h.nlmsg_seq = 1;
        if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *) &kernel, sizeof(kernel)) < 0) {
                perror("sendto");
                return 1;
        }
        /* The kernel's answer says whether it took the message (EPERM without the capability). */
        ssize_t n = recv(fd, answer, sizeof(answer), 0);
        if (n >= (ssize_t) NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
                struct nlmsghdr *h = (struct nlmsghdr *) answer;
                struct nlmsgerr *e = NLMSG_DATA(h);
                if (h->nlmsg_type == NLMSG_ERROR && e->error != 0) {
                        fprintf(stderr, "the kernel refused: %s\n", strerror(-e->error));
                        return 1;
                }
        }
        printf("sent by pid %d\n", (int) getpid());
        fflush(stdout);
        if (argc > 2)
                sleep((unsigned) atoi(argv[2]));
        return 0;
}
