package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"kehou/console"
	"kehou/models"
)

// ConsoleCSP is the Content-Security-Policy of every console answer: scripts,
// styles, data and fonts from this origin only (no inline script, no
// third-party request), no framing, no plugins. Inline style attributes are
// allowed because ECharts positions its tooltips with them; they cannot run
// code.
const ConsoleCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Console serves the staff console: Index answers GET / (revalidated on
// every load), Static answers GET /static/<version>/* (cached for a year
// when the version is the current one). Both send the pre-compressed body
// to clients that accept gzip.
type Console struct {
	Assets *console.Assets
}

func consoleHeaders(c *fiber.Ctx) {
	c.Set("Content-Security-Policy", ConsoleCSP)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
}

// Index is GET /: the console's page.
func (k Console) Index(c *fiber.Ctx) error {
	consoleHeaders(c)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return sendAsset(c, k.Assets.Index)
}

// Static is GET /static/{version}/{file} and /static/{version}/{dir}/{file}:
// one asset (the console's tree is one level deep). A request for another
// version (a page loaded before a deployment) gets today's file, not
// cached, rather than a 404.
func (k Console) Static(c *fiber.Ctx) error {
	version, name := c.Params("version"), c.Params("file")
	if dir := c.Params("dir"); dir != "" {
		name = dir + "/" + name
	}
	as, ok := k.Assets.Lookup(name)
	if !ok {
		return models.ErrNotFound
	}
	consoleHeaders(c)
	if version == k.Assets.Version {
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	} else {
		c.Set(fiber.HeaderCacheControl, "no-cache")
	}
	return sendAsset(c, as)
}

func sendAsset(c *fiber.Ctx, as console.Asset) error {
	// The two encodings are two representations: each has its own ETag.
	gz := as.Gzip != nil && acceptsGzip(c.Get(fiber.HeaderAcceptEncoding))
	tag := as.ETag
	if gz {
		tag = strings.TrimSuffix(tag, `"`) + `-gz"`
	}
	c.Set(fiber.HeaderETag, tag)
	if match := c.Get(fiber.HeaderIfNoneMatch); match != "" && strings.Contains(match, tag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, as.ContentType)
	if gz {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(as.Gzip)
	}
	return c.Send(as.Body)
}

// RegionNodeDTO is a region of GET /api/v1/regions.
type RegionNodeDTO struct {
	RegionDTO
	Schools int64 `json:"schools"`
}

// ListRegions is GET /api/v1/regions (bureau or platform admin): the regions
// the caller oversees, a parent before its children, each with the number of
// schools it holds directly (the console's region tree).
func (h *API) ListRegions(c *fiber.Ctx) error {
	offset, limit, err := wholePageParams(c)
	if err != nil {
		return err
	}
	rs, err := models.FindRegionTree(c.UserContext(), h.DB, CurrentActor(c))
	if err != nil {
		return err
	}
	items := make([]RegionNodeDTO, 0, len(rs))
	for _, r := range rs {
		items = append(items, RegionNodeDTO{RegionDTO: RegionDTO{ID: r.ID, ParentID: r.ParentID, Name: r.Name,
			Code: r.Code, Level: r.Level, CreatedAt: rfc3339(r.CreatedAt)}, Schools: r.Schools})
	}
	return c.JSON(offsetPage(items, offset, limit))
}
