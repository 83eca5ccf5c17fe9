import path from 'node:path';
import type { Context } from 'koa';
import nunjucks from 'nunjucks';

/**
 * What every server-rendered page shares (the H5 pages, the reference portal, the sandbox phone):
 * nunjucks templates from one folder of templates/ with auto-escaping on, answered as HTML that is
 * never cached. Each use adds its own page variables and headers in its render().
 */
export abstract class PageRenderer {
  private readonly env: nunjucks.Environment;

  constructor(templatesDir: string, folder: string) {
    this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(templatesDir, folder)), {
      autoescape: true,
      throwOnUndefined: false,
    });
  }

  /** Answers with `<template>.njk` rendered with `variables`, and the use's own `headers`. */
  protected respond(
    ctx: Context,
    template: string,
    variables: Record<string, unknown>,
    status: number,
    headers: Record<string, string> = {},
  ): void {
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    for (const [name, value] of Object.entries(headers)) ctx.set(name, value);
    ctx.body = this.env.render(`${template}.njk`, variables);
  }
}
