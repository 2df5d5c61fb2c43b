import type { EmailTemplateVersion } from '@prisma/client';
import { Type } from '@sinclair/typebox';
import { Router } from 'express';
import { contactView, type EngineDeps } from '../engine/index.js';
import {
  linkSigner,
  TemplateError,
  type CompiledTemplate,
  type TemplateSource,
} from '../mail/index.js';
import type { SigningConfig } from './signing-config.js';
import { isUniqueViolation, newId } from '../store/index.js';
import { HttpProblem, invalidInput, notFound, PROBLEM_BASE } from './problem.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const Source = {
  subject: Type.String({
    minLength: 1,
    maxLength: 500,
    description: 'A Handlebars template, like the body.',
  }),
  preheader: Type.Optional(Type.String({ maxLength: 500 })),
  layout: Type.Optional(
    Type.String({ maxLength: 100, description: 'A layout in templates/layouts, or `none`.' }),
  ),
  html: Type.String({ minLength: 1, maxLength: 500_000 }),
};
const NewTemplate = Type.Object(
  { name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,99}$' }), ...Source },
  { additionalProperties: false },
);
const NewVersion = Type.Object(Source, { additionalProperties: false });
const Data = Type.Object(
  {
    contactId: Type.Optional(
      Type.String({ minLength: 1, description: 'Render for this contact.' }),
    ),
    contact: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: 'Sample contact data.' }),
    ),
    event: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 })),
  },
  { additionalProperties: false },
);
const Preview = Type.Object(
  { ...Data.properties, template: Type.Optional(NewVersion) },
  { additionalProperties: false },
);
const readNew = bodyValidator(NewTemplate);
const readVersion = bodyValidator(NewVersion);
const readPreview = bodyValidator(Preview);

/**
 * Email templates stored through the API, versioned (a version never changes; the newest is
 * what sends use), and previews: any template, stored, file or unsaved, rendered for a contact
 * or sample data, HTML and text, without sending.
 */
export function templatesRouter(engine: EngineDeps, signing: SigningConfig): Router {
  const router = Router();
  const links = linkSigner(signing.publicUrl, signing.secretKey);
  const { prisma, templates } = engine;

  const compile = (source: TemplateSource, name: string, pointer = ''): CompiledTemplate => {
    try {
      return templates.compile(source, name);
    } catch (error) {
      if (error instanceof TemplateError)
        throw invalidInput('The template cannot be used.', [
          {
            pointer: `${pointer}/${error.part ?? 'html'}`,
            code: 'template-invalid',
            message: error.message,
          },
        ]);
      throw error;
    }
  };
  const sourceOf = (b: {
    subject: string;
    preheader?: string;
    layout?: string;
    html: string;
  }): TemplateSource => ({
    subject: b.subject,
    preheader: b.preheader ?? null,
    layout: b.layout ?? null,
    html: b.html,
  });

  router.post('/v1/templates', async (req, res) => {
    const body = readNew(req.body);
    const workspaceId = workspaceOf(req);
    compile(sourceOf(body), body.name);
    const exists = await prisma.emailTemplate.findUnique({
      where: { workspaceId_name: { workspaceId, name: body.name } },
    });
    const duplicate = () =>
      new HttpProblem(
        409,
        `${PROBLEM_BASE}conflict`,
        'Already exists',
        `A template called ${body.name} already exists; PUT a new version instead.`,
        [{ pointer: '/name', code: 'duplicate', detail: 'Another template has this name.' }],
      );
    if (exists || templates.has(body.name)) throw duplicate();
    const id = newId();
    await prisma.emailTemplate
      .create({
        data: {
          id,
          workspaceId,
          name: body.name,
          currentVersion: 1,
          versions: { create: { id: newId(), version: 1, ...sourceOf(body) } },
        },
      })
      .catch((error: unknown) => {
        // Another request made it since the check above.
        if (isUniqueViolation(error)) throw duplicate();
        throw error;
      });
    res.status(201).json(await describe(id));
  });

  router.get('/v1/templates', async (req, res) => {
    const stored = await prisma.emailTemplate.findMany({
      where: { workspaceId: workspaceOf(req) },
      orderBy: { name: 'asc' },
    });
    const storedNames = new Set(stored.map((t) => t.name));
    res.json({
      data: [
        ...stored.map((t) => ({
          name: t.name,
          source: 'api',
          currentVersion: t.currentVersion,
          updatedAt: t.updatedAt,
        })),
        ...templates
          .names()
          .filter((n) => !storedNames.has(n))
          .map((name) => ({ name, source: 'file', currentVersion: null, updatedAt: null })),
      ],
    });
  });

  router.get('/v1/templates/:name', async (req, res) => {
    const t = await stored(workspaceOf(req), req.params.name);
    res.json(await describe(t.id));
  });

  router.put('/v1/templates/:name', async (req, res) => {
    const body = readVersion(req.body);
    const t = await stored(workspaceOf(req), req.params.name);
    compile(sourceOf(body), t.name);
    await prisma.$transaction(async (tx) => {
      const bumped = await tx.emailTemplate.update({
        where: { id: t.id },
        data: { currentVersion: { increment: 1 } },
      });
      await tx.emailTemplateVersion.create({
        data: { id: newId(), templateId: t.id, version: bumped.currentVersion, ...sourceOf(body) },
      });
    });
    res.json(await describe(t.id));
  });

  router.get('/v1/templates/:name/versions', async (req, res) => {
    const t = await stored(workspaceOf(req), req.params.name);
    const versions = await prisma.emailTemplateVersion.findMany({
      where: { templateId: t.id },
      orderBy: { version: 'desc' },
    });
    res.json({ data: versions });
  });

  router.post('/v1/templates/:name/preview', async (req, res) => {
    const body = readPreview(req.body);
    const workspaceId = workspaceOf(req);
    const name = req.params.name;
    const data = await previewData(workspaceId, body);
    const t = await prisma.emailTemplate.findUnique({
      where: { workspaceId_name: { workspaceId, name } },
    });
    let compiled: CompiledTemplate | null = null;
    if (body.template) compiled = compile(sourceOf(body.template), name, '/template');
    else if (t) compiled = compile(await versionOf(t.id, body.version ?? t.currentVersion), name);
    else if (!templates.has(name)) throw notFound(`Template ${name}`);
    try {
      const rendered = compiled
        ? templates.renderCompiled(compiled, data, undefined, name)
        : templates.render(name, data);
      res.json(rendered);
    } catch (error) {
      if (error instanceof TemplateError)
        throw invalidInput('The template could not be rendered with this data.', [
          { pointer: '', code: 'render-failed', message: error.message },
        ]);
      throw error;
    }
  });

  async function stored(workspaceId: string, name: string) {
    const t = await prisma.emailTemplate.findUnique({
      where: { workspaceId_name: { workspaceId, name } },
    });
    if (!t) throw notFound(`Template ${name}`);
    return t;
  }

  async function versionOf(templateId: string, version: number): Promise<EmailTemplateVersion> {
    const v = await prisma.emailTemplateVersion.findUnique({
      where: { templateId_version: { templateId, version } },
    });
    if (!v) throw notFound(`Version ${version}`);
    return v;
  }

  async function describe(id: string) {
    const t = await prisma.emailTemplate.findUniqueOrThrow({ where: { id } });
    const current = await versionOf(t.id, t.currentVersion);
    return { ...t, current };
  }

  async function previewData(
    workspaceId: string,
    body: {
      contactId?: string;
      contact?: Record<string, unknown>;
      event?: Record<string, unknown>;
    },
  ): Promise<Record<string, unknown>> {
    let contact: Record<string, unknown> = body.contact ?? {};
    let ref = {
      w: workspaceId,
      c: 'preview',
      e: typeof contact.email === 'string' ? contact.email : 'preview@example.com',
      k: 'marketing',
      m: null,
    };
    if (body.contactId) {
      const row = await prisma.contact.findFirst({ where: { workspaceId, id: body.contactId } });
      if (!row)
        throw invalidInput('The contact does not exist.', [
          {
            pointer: '/contactId',
            code: 'unknown-contact',
            message: `There is no contact ${body.contactId}.`,
          },
        ]);
      contact = contactView(row);
      ref = { ...ref, c: row.id, e: row.email ?? ref.e };
    }
    return {
      contact,
      event: { name: null, properties: body.event ?? {} },
      journey: { key: 'preview', name: 'Preview' },
      step: { id: 'preview' },
      unsubscribeUrl: links.unsubscribeUrl(ref),
      preferencesUrl: links.preferencesUrl(ref),
    };
  }

  return router;
}
