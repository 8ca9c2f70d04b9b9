/**
 * A small XML reader for the WebDAV answers this product reads (a
 * `multistatus` from PROPFIND), with namespace resolution: elements are
 * matched by namespace URI and local name, never by prefix (`d:`, `D:`, a
 * default namespace or any other prefix all work).
 *
 * Deliberately limited: no DTDs (a `<!DOCTYPE` is refused, so no entity
 * expansion), only the predefined and numeric character references, and at
 * most `MAX_DEPTH` nested elements. Comments, processing instructions and
 * CDATA are handled. Malformed input is a `Left` with a short reason, never
 * an exception; nothing here recurses, so no input can exhaust the stack.
 */
import { Either } from "effect"

export const DAV_NS = "DAV:"

/**
 * Deepest element nesting accepted. A multistatus needs about 6 levels
 * (multistatus/response/propstat/prop/resourcetype/collection); 256 leaves
 * room for any extension while bounding what hostile input can build.
 */
export const MAX_DEPTH = 256

export interface XmlElement {
  readonly ns: string | null
  readonly local: string
  readonly children: ReadonlyArray<XmlNode>
  /** Attributes other than namespace declarations, by qualified name as written (`name`, `x:name`). */
  readonly attributes?: Readonly<Record<string, string>>
}

export type XmlNode = XmlElement | string

const NAME = /[A-Za-z_\u00C0-\uFFFF][\w.\-\u00B7\u00C0-\uFFFF]*(?::[A-Za-z_\u00C0-\uFFFF][\w.\-\u00B7\u00C0-\uFFFF]*)?/y
const SPACE = /\s*/y
const ATTRIBUTE_VALUE = /"([^"<]*)"|'([^'<]*)'/y

const PREDEFINED: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }

const decodeEntities = (text: string): Either.Either<string, string> => {
  let failure: string | null = null
  const out = text.replace(/&([^;&\s]{0,32});?/g, (match, name: string) => {
    if (!match.endsWith(";")) {
      failure ??= "unterminated character reference"
      return match
    }
    if (name.startsWith("#x") || name.startsWith("#X")) {
      const code = Number.parseInt(name.slice(2), 16)
      if (/^[0-9a-fA-F]+$/.test(name.slice(2)) && code <= 0x10ffff) return String.fromCodePoint(code)
    } else if (name.startsWith("#")) {
      const code = Number.parseInt(name.slice(1), 10)
      if (/^[0-9]+$/.test(name.slice(1)) && code <= 0x10ffff) return String.fromCodePoint(code)
    } else {
      const known = PREDEFINED[name]
      if (known !== undefined) return known
    }
    failure ??= `unknown character reference &${name.slice(0, 16)};`
    return match
  })
  return failure === null ? Either.right(out) : Either.left(failure)
}

interface Open {
  readonly qname: string
  readonly prefixes: ReadonlyMap<string, string>
  readonly ns: string | null
  readonly local: string
  readonly children: Array<XmlNode>
  readonly attributes: Readonly<Record<string, string>>
}

const resolve = (qname: string, prefixes: ReadonlyMap<string, string>): Either.Either<{ ns: string | null; local: string }, string> => {
  const colon = qname.indexOf(":")
  if (colon < 0) return Either.right({ ns: prefixes.get("") ?? null, local: qname })
  const prefix = qname.slice(0, colon)
  const ns = prefixes.get(prefix)
  return ns === undefined
    ? Either.left(`undeclared namespace prefix "${prefix.slice(0, 32)}"`)
    : Either.right({ ns, local: qname.slice(colon + 1) })
}

/** Parse a whole document; its root element. */
export const parseXml = (input: string): Either.Either<XmlElement, string> => {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input
  const stack: Array<Open> = []
  let root: XmlElement | null = null
  let i = 0
  const fail = (reason: string) => Either.left(`${reason} (at offset ${i})`)

  const addText = (raw: string): Either.Either<void, string> => {
    const top = stack[stack.length - 1]
    if (top === undefined) {
      return raw.trim() === "" ? Either.right(undefined) : Either.left("text outside the root element")
    }
    const decoded = decodeEntities(raw)
    if (Either.isLeft(decoded)) return Either.left(decoded.left)
    if (decoded.right !== "") top.children.push(decoded.right)
    return Either.right(undefined)
  }

  while (i < text.length) {
    const lt = text.indexOf("<", i)
    if (lt < 0) {
      const rest = addText(text.slice(i))
      if (Either.isLeft(rest)) return fail(rest.left)
      break
    }
    if (lt > i) {
      const added = addText(text.slice(i, lt))
      if (Either.isLeft(added)) return fail(added.left)
    }
    i = lt
    if (text.startsWith("<?", i)) {
      const end = text.indexOf("?>", i + 2)
      if (end < 0) return fail("unterminated processing instruction")
      i = end + 2
      continue
    }
    if (text.startsWith("<!--", i)) {
      const end = text.indexOf("-->", i + 4)
      if (end < 0) return fail("unterminated comment")
      i = end + 3
      continue
    }
    if (text.startsWith("<![CDATA[", i)) {
      const end = text.indexOf("]]>", i + 9)
      if (end < 0) return fail("unterminated CDATA section")
      const top = stack[stack.length - 1]
      if (top === undefined) return fail("CDATA outside the root element")
      top.children.push(text.slice(i + 9, end))
      i = end + 3
      continue
    }
    if (text.startsWith("<!", i)) return fail("DOCTYPE and other declarations are not accepted")
    if (text.startsWith("</", i)) {
      NAME.lastIndex = i + 2
      const m = NAME.exec(text)
      if (m === null) return fail("bad closing tag")
      i = NAME.lastIndex
      SPACE.lastIndex = i
      SPACE.exec(text)
      i = SPACE.lastIndex
      if (text[i] !== ">") return fail("bad closing tag")
      i++
      const open = stack.pop()
      if (open === undefined || open.qname !== m[0]) return fail(`unexpected closing tag </${m[0].slice(0, 64)}>`)
      const element: XmlElement = { ns: open.ns, local: open.local, children: open.children, attributes: open.attributes }
      const parent = stack[stack.length - 1]
      if (parent === undefined) {
        if (root !== null) return fail("more than one root element")
        root = element
      } else {
        parent.children.push(element)
      }
      continue
    }
    // Start tag.
    NAME.lastIndex = i + 1
    const m = NAME.exec(text)
    if (m === null) return fail("bad tag name")
    const qname = m[0]
    i = NAME.lastIndex
    const attributes: Array<readonly [string, string]> = []
    let selfClosing = false
    for (;;) {
      SPACE.lastIndex = i
      const space = SPACE.exec(text)
      const hadSpace = (space?.[0].length ?? 0) > 0
      i = SPACE.lastIndex
      if (text.startsWith("/>", i)) {
        selfClosing = true
        i += 2
        break
      }
      if (text[i] === ">") {
        i++
        break
      }
      if (!hadSpace) return fail("bad start tag")
      NAME.lastIndex = i
      const attr = NAME.exec(text)
      if (attr === null) return fail("bad attribute")
      i = NAME.lastIndex
      SPACE.lastIndex = i
      SPACE.exec(text)
      i = SPACE.lastIndex
      if (text[i] !== "=") return fail("attribute without a value")
      SPACE.lastIndex = i + 1
      SPACE.exec(text)
      i = SPACE.lastIndex
      ATTRIBUTE_VALUE.lastIndex = i
      const value = ATTRIBUTE_VALUE.exec(text)
      if (value === null) return fail("bad attribute value")
      i = ATTRIBUTE_VALUE.lastIndex
      const decoded = decodeEntities(value[1] ?? value[2] ?? "")
      if (Either.isLeft(decoded)) return fail(decoded.left)
      attributes.push([attr[0], decoded.right])
    }
    const parentPrefixes = stack[stack.length - 1]?.prefixes ?? new Map<string, string>([["xml", "http://www.w3.org/XML/1998/namespace"]])
    let prefixes = parentPrefixes
    for (const [name, value] of attributes) {
      if (name === "xmlns" || name.startsWith("xmlns:")) {
        if (prefixes === parentPrefixes) prefixes = new Map(parentPrefixes)
        ;(prefixes as Map<string, string>).set(name === "xmlns" ? "" : name.slice(6), value)
      }
    }
    const resolved = resolve(qname, prefixes)
    if (Either.isLeft(resolved)) return fail(resolved.left)
    if (stack.length === 0 && root !== null) return fail("more than one root element")
    const plain: Record<string, string> = {}
    for (const [name, value] of attributes) if (name !== "xmlns" && !name.startsWith("xmlns:")) plain[name] = value
    const open: Open = {
      qname,
      prefixes,
      ns: resolved.right.ns === "" ? null : resolved.right.ns,
      local: resolved.right.local,
      children: [],
      attributes: plain
    }
    if (selfClosing) {
      const element: XmlElement = { ns: open.ns, local: open.local, children: [], attributes: plain }
      const parent = stack[stack.length - 1]
      if (parent === undefined) root = element
      else parent.children.push(element)
    } else {
      if (stack.length >= MAX_DEPTH) return fail(`elements nested deeper than ${MAX_DEPTH}`)
      stack.push(open)
    }
  }
  if (stack.length > 0) return Either.left(`unclosed element <${stack[stack.length - 1]?.qname.slice(0, 64)}>`)
  return root === null ? Either.left("no root element") : Either.right(root)
}

export const isElement = (node: XmlNode): node is XmlElement => typeof node !== "string"

/** Child elements with this namespace and local name. */
export const childrenNamed = (element: XmlElement, ns: string, local: string): ReadonlyArray<XmlElement> =>
  element.children.filter((c): c is XmlElement => isElement(c) && c.ns === ns && c.local === local)

export const childNamed = (element: XmlElement, ns: string, local: string): XmlElement | undefined =>
  childrenNamed(element, ns, local)[0]

/** Concatenated text content (descendants included, in document order), without recursion. */
export const textOf = (element: XmlElement): string => {
  let text = ""
  const pending: Array<XmlNode> = [...element.children].reverse()
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (typeof node === "string") text += node
    else for (let i = node.children.length - 1; i >= 0; i--) pending.push(node.children[i] as XmlNode)
  }
  return text
}

/**
 * Text for an XML element or attribute value: the five special characters as
 * references; characters XML 1.0 cannot carry at all (most controls, lone
 * surrogates, U+FFFE/U+FFFF) are a `Left`.
 */
export const escapeXml = (text: string): Either.Either<string, string> =>
  // biome-ignore lint: the characters XML 1.0 excludes are exactly what is matched here
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)
    ? Either.left("contains a character XML cannot carry")
    : Either.right(
        text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;")
      )
