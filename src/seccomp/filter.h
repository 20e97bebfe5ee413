/* The seccomp filter of the supervised tree: which system calls the
 * supervisor hears about. */
#ifndef UNSOCK_FILTER_H
#define UNSOCK_FILTER_H

#include <stdbool.h>

/* In the child, before exec: no new privileges, then the filter (which
 * also traps socket(AF_INET6) if block_inet6); the listener's descriptor, or -1 with errno and *missing naming the kernel
 * feature that is not there. */
int filter_install(bool block_inet6, const char **missing);

#endif
