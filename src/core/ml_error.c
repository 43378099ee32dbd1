// SPDX-License-Identifier: MIT
// Descriptions of the error codes declared in ml_error.h.
#include "ml_error.h"

const char *
ml_strerror(int err)
{
    switch (err) {
    case ML_OK:
        return "success";
    case ML_ENOMEM:
        return "out of memory";
    case ML_EIO:
        return "input/output error";
    case ML_EINVAL:
        return "invalid argument";
    case ML_EMAGIC:
        return "not a microlog recording";
    case ML_EVERSION:
        return "unsupported format version";
    case ML_ETRUNC:
        return "truncated input";
    case ML_ECHECKSUM:
        return "checksum mismatch";
    case ML_ECORRUPT:
        return "malformed data";
    case ML_ELIMIT:
        return "size or count over limit";
    case ML_ECOMPRESS:
        return "compression error";
    default:
        return "unknown error";
    }
}
