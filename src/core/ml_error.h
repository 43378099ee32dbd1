// SPDX-License-Identifier: MIT
// Error codes shared by every microlog library: functions return 0 (or a
// positive count) on success and one of these negative values on failure.
// ml_strerror() turns a code into a short English phrase.
#ifndef ML_ERROR_H
#define ML_ERROR_H

enum {
    ML_OK = 0,
    ML_ENOMEM = -1,    /* an allocation failed */
    ML_EIO = -2,       /* the operating system refused a read or write */
    ML_EINVAL = -3,    /* the caller passed an invalid argument */
    ML_EMAGIC = -4,    /* the input is not a microlog recording */
    ML_EVERSION = -5,  /* the recording needs a newer reader */
    ML_ETRUNC = -6,    /* the input ends in the middle of a structure */
    ML_ECHECKSUM = -7, /* stored and computed checksums differ */
    ML_ECORRUPT = -8,  /* a structure is malformed */
    ML_ELIMIT = -9,    /* a size or count is over a documented limit */
    ML_ECOMPRESS = -10 /* the compressor or decompressor failed */
};

/* Returns a static, never-NULL description of an error code. */
const char *ml_strerror(int err);

#endif
