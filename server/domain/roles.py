"""The staff roles and their names (pure: the workflow's messages and the models share them)."""

ROLE_NAMES = {
    "investigator": ("调查人员", "Investigator"),
    "caseworker": ("经办人", "Caseworker"),
    "leader": ("分管领导", "Leader in charge"),
    "director": ("主任（行政正职）", "Director"),
    "bureau_supervisor": ("民政局监管人员", "Bureau supervisor"),
    "admin": ("系统管理员", "Administrator"),
}
