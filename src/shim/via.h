/* Sockets of another family: what a control file (at a rule's path) or a
 * vsock= / tipc= / firecracker= rule names becomes the program's socket. */
#ifndef UNSOCK_VIA_H
#define UNSOCK_VIA_H

#include "controlfile.h"
#include "fdtable.h"

enum { VIA_DONE = 0, VIA_NOT_CONTROL = 1, VIA_IN_PROGRESS = 2 };

/* A new socket for fd (its options carried, described by s) of the family
 * the record c names, bound or connected to its destination, in *out; a
 * Firecracker record connects through the multiplexer. VIA_DONE, or
 * VIA_IN_PROGRESS for a non-blocking connect; -1 with errno, fd untouched.
 * label names the record's origin in the log. */
int unsock_via_record(int fd, struct usock *s, const struct unsock_control *c, bool firecracker, bool binding,
                      const char *label, int *out);

/* The same for the file at path if it is a control file; VIA_NOT_CONTROL
 * (errno kept) if it is not one; -1 with the program's errno kept
 * (ECONNREFUSED / EADDRINUSE) if it is one that cannot be used. */
int unsock_via_control_file(int fd, struct usock *s, const char *path, bool binding, int *out);

#endif
