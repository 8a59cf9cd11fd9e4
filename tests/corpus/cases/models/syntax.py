def models(:
    return {}
