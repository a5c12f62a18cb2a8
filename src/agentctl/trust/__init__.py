"""Trust evidence: from run history, where may an agent act without a human?"""
