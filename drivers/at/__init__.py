"""The AT engine shared by the GSM and analog (FXO) drivers: ITU-T V.250 command lines,
3GPP TS 27.007/27.005 result codes, unsolicited result codes."""
