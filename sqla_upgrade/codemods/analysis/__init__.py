"""Analyses shared by passes: session evidence, entity shapes, query chains."""
