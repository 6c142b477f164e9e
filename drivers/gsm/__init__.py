"""GSM modems as call lines: 3GPP TS 27.007 (calls, network, SIM), 27.005 (SMS), vendor
profiles for Huawei, Quectel and SIMCom voice over USB."""
