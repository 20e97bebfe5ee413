#include "names.h"

const char *unsock_type_log_name(int type)
{
    return type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "dgram" : "other";
}

const char *unsock_type_template_name(int type)
{
    return type == SOCK_DGRAM ? "udp" : type == SOCK_STREAM ? "tcp" : "seqpacket";
}
